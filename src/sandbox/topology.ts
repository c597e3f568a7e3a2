/**
 * Closed sandboxes of network namespaces for tests, the demo and the lab.
 *
 *   client (10.250.0.2) ──veth── node (rules live here) ──bridge── backends
 *                                 │                            (10.244.j.(10+i))
 *                                 └─veth── drop (blackhole default route)
 *
 * With `ipv6`, the same links also carry IPv6 ULA addresses (fd00:250::2
 * client, fd00:250::1 node, fd00:244::(j:)(10+i) backends, fd00:253::/64 to
 * the drop), added without DAD so they are usable at once, with IPv6
 * forwarding and default routes inside these namespaces only.
 *
 * Nothing links to the root namespace; the node's default route leads into a
 * namespace that silently drops everything, as a real node has a way out, so
 * a test cannot pass because a route is missing. destroy() kills the
 * processes it started (by PID) and deletes the namespaces, also on exit.
 */
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../native/binding.js';
import { addIPv6 } from './ipv6.js';
import { sh, shSync } from './shell.js';
import type { Attempt } from './programs/client.js';
import type { LoadReport } from './programs/load.js';

export type { Attempt, LoadReport };

export interface TopologyOptions {
  /** number of backend namespaces (default 3) */
  backends?: number;
  /** addresses per backend, for many endpoints (default 1) */
  addressesPerBackend?: number;
  /** TCP/UDP ports every backend's echo server listens on (default [8080]) */
  tcpPorts?: number[];
  udpPorts?: number[];
  /** start echo servers (default true) */
  servers?: boolean;
  /** dual-stack: IPv6 addresses and routes too, echo servers also on :: (default false) */
  ipv6?: boolean;
}

export interface Backend {
  name: string;
  netns: string;
  addresses: string[];
  /** IPv6 addresses, one per IPv4 address ([] without the ipv6 option) */
  addresses6: string[];
}

export interface ClientTarget {
  host: string;
  port: number;
  proto?: 'TCP' | 'UDP';
}

export interface ClientRun {
  targets: ClientTarget[];
  count?: number;
  timeoutMs?: number;
  /** namespace to connect from (default: the client namespace) */
  from?: string;
  /** cgroup v2 directory the client process joins before connecting (bpf mode) */
  cgroup?: string;
}

export interface LoadSpec {
  targets: { host: string; port: number }[];
  /** new connections per second per target (default 20) */
  rate?: number;
  /** long-lived connections exchanging data (default 4) */
  longLived?: number;
  /** hard stop, so a forgotten load never runs on (default 10 min) */
  maxMs?: number;
  slowMs?: number;
  /** an echo missing this long counts as a stalled connection (default 5000) */
  stallMs?: number;
  from?: string;
  cgroup?: string;
}

export const CLIENT_IP = '10.250.0.2';
export const NODE_IP = '10.250.0.1';
export const NODE_BACKEND_IP = '10.244.0.1';
export { CLIENT_IP6, NODE_IP6, NODE_BACKEND_IP6, backendIP6 } from './ipv6.js';

const live = new Set<Topology>();
let exitHookInstalled = false;

export class Topology {
  readonly id: string;
  readonly client: string;
  readonly node: string;
  readonly drop: string;
  readonly backends: Backend[] = [];
  /** built with IPv6 addresses (TopologyOptions.ipv6) */
  ipv6 = false;
  private readonly procs: ChildProcess[] = [];
  private destroyed = false;
  private destroying?: Promise<void>;

  private constructor(id: string) {
    this.id = id;
    this.client = `svp-${id}-client`;
    this.node = `svp-${id}-node`;
    this.drop = `svp-${id}-drop`;
  }

  get namespaces(): string[] {
    return [this.client, this.node, this.drop, ...this.backends.map((b) => b.netns)];
  }

  static async create(opts: TopologyOptions = {}): Promise<Topology> {
    await sweepStale();
    const t = new Topology(randomBytes(3).toString('hex'));
    installExitHook();
    live.add(t);
    t.register();
    try {
      await t.build(opts);
    } catch (e) {
      await t.destroy();
      throw e;
    }
    return t;
  }

  private async build(opts: TopologyOptions): Promise<void> {
    const n = opts.backends ?? 3;
    const per = opts.addressesPerBackend ?? 1;
    const ip = (ns: string, ...args: string[]) => sh(['ip', '-n', ns, ...args]);
    const sysctl = (ns: string, key: string, v: string) => sh(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', `${key}=${v}`]);
    const addNetns = async (ns: string) => {
      await sh(['ip', 'netns', 'add', ns]);
      // links made from now on get link-local addresses without DAD: a tentative
      // link-local stalls the first IPv6 exchanges for 1-2 s (seen: the first connect timed out)
      if (opts.ipv6) for (const c of ['all', 'default']) await sysctl(ns, `net.ipv6.conf.${c}.accept_dad`, '0');
    };
    for (const ns of [this.node, this.client, this.drop]) await addNetns(ns);

    // All links are created from inside the node namespace, never in the root one.
    await ip(this.node, 'link', 'set', 'lo', 'up');
    await ip(this.node, 'link', 'add', 'to-client', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.client);
    await ip(this.node, 'link', 'add', 'to-drop', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.drop);
    await ip(this.node, 'link', 'add', 'svpbr', 'type', 'bridge');
    await ip(this.node, 'addr', 'add', `${NODE_IP}/24`, 'dev', 'to-client');
    await ip(this.node, 'addr', 'add', '10.253.0.1/30', 'dev', 'to-drop');
    await ip(this.node, 'addr', 'add', `${NODE_BACKEND_IP}/16`, 'dev', 'svpbr');
    for (const dev of ['to-client', 'to-drop', 'svpbr']) await ip(this.node, 'link', 'set', dev, 'up');
    await ip(this.node, 'route', 'add', 'default', 'via', '10.253.0.2');
    await sysctl(this.node, 'net.ipv4.ip_forward', '1');

    await ip(this.client, 'link', 'set', 'lo', 'up');
    await ip(this.client, 'addr', 'add', `${CLIENT_IP}/24`, 'dev', 'eth0');
    await ip(this.client, 'link', 'set', 'eth0', 'up');
    await ip(this.client, 'route', 'add', 'default', 'via', NODE_IP);

    // The way out that goes nowhere: forward into a blackhole (no ICMP back).
    await ip(this.drop, 'addr', 'add', '10.253.0.2/30', 'dev', 'eth0');
    await ip(this.drop, 'link', 'set', 'eth0', 'up');
    await sysctl(this.drop, 'net.ipv4.ip_forward', '1');
    await ip(this.drop, 'route', 'add', 'blackhole', 'default');

    for (let i = 0; i < n; i++) await this.addBackend(i, per, addNetns);
    if (opts.ipv6) {
      await addIPv6(this, per);
      this.ipv6 = true;
    }
    if (opts.servers !== false) {
      const tcp = (opts.tcpPorts ?? [8080]).join(',');
      const udp = (opts.udpPorts ?? [8080]).join(',');
      await Promise.all(this.backends.map((b) => this.startServer(b, tcp, udp)));
    }
  }

  /** Backend i: its own namespace on a bridge port of the node, `per` addresses. */
  private async addBackend(i: number, per: number, addNetns: (ns: string) => Promise<void>): Promise<void> {
    const ip = (ns: string, ...args: string[]) => sh(['ip', '-n', ns, ...args]);
    const b: Backend = { name: `b${i}`, netns: `svp-${this.id}-b${i}`, addresses: [], addresses6: [] };
    this.backends.push(b);
    await addNetns(b.netns);
    await ip(this.node, 'link', 'add', `to-b${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', b.netns);
    await ip(this.node, 'link', 'set', `to-b${i}`, 'master', 'svpbr', 'up');
    // kubelet's hairpin-veth: a pod that reaches itself through a service gets the frame back on
    // its own port (with bridge netfilter the DNAT happens while the frame is bridged)
    await ip(this.node, 'link', 'set', `to-b${i}`, 'type', 'bridge_slave', 'hairpin', 'on');
    await ip(b.netns, 'link', 'set', 'lo', 'up');
    for (let j = 0; j < per; j++) {
      const addr = `10.244.${j}.${10 + i}`;
      b.addresses.push(addr);
      await ip(b.netns, 'addr', 'add', `${addr}/16`, 'dev', 'eth0');
    }
    await ip(b.netns, 'link', 'set', 'eth0', 'up');
    await ip(b.netns, 'route', 'add', 'default', 'via', NODE_BACKEND_IP);
  }

  private startServer(b: Backend, tcp: string, udp: string): Promise<void> {
    const child = this.spawnIn(b.netns, [process.execPath, program('echo-server'), b.name, tcp, udp, ...(this.ipv6 ? ['ipv6'] : [])]);
    return new Promise((resolve, reject) => {
      let out = '';
      let err = '';
      const timer = setTimeout(() => reject(new Error(`echo server ${b.name} did not start: ${err}`)), 10_000);
      child.stderr!.on('data', (d) => (err += d));
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`echo server ${b.name} exited (${code}): ${err}`));
      });
    });
  }

  /** Note this sandbox (owner PID) so a later run can remove it if this process is killed. */
  private register(): void {
    mkdirSync(REGISTRY, { recursive: true });
    const pids = this.procs.flatMap((p) => (p.pid ? [p.pid] : []));
    writeFileSync(join(REGISTRY, this.id), JSON.stringify({ pid: process.pid, prefix: `svp-${this.id}-`, pids }));
  }

  /** Start a long-running process inside a namespace; destroy() ends it. */
  spawnIn(netns: string, argv: string[], cgroup?: string, stdin: 'ignore' | 'pipe' = 'ignore'): ChildProcess {
    const cmd = ['ip', 'netns', 'exec', netns, ...argv];
    // Join the cgroup first, then exec: the process never runs outside it.
    const full = cgroup ? ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, ...cmd] : cmd;
    const child = spawn(full[0]!, full.slice(1), { stdio: [stdin, 'pipe', 'pipe'] });
    this.procs.push(child);
    if (!this.destroyed) this.register();
    return child;
  }

  /** Run the test client and return one Attempt per connection. */
  async connect(run: ClientRun): Promise<Attempt[]> {
    const spec = {
      targets: run.targets.map((t) => ({ host: t.host, port: t.port, proto: t.proto ?? 'TCP' })),
      count: run.count ?? 1,
      timeoutMs: run.timeoutMs ?? 2000,
    };
    const child = this.spawnIn(run.from ?? this.client, [process.execPath, program('client'), JSON.stringify(spec)], run.cgroup);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    this.procs.splice(this.procs.indexOf(child), 1);
    if (code !== 0) throw new Error(`client failed (${code}): ${err.trim()}`);
    return JSON.parse(out) as Attempt[];
  }

  /**
   * Start steady load (see programs/load.ts) from the client namespace;
   * stop() ends it and returns its report.
   */
  async startLoad(spec: LoadSpec): Promise<{ stop: () => Promise<LoadReport> }> {
    const { from, cgroup, ...rest } = spec;
    const args = { rate: 20, longLived: 4, maxMs: 600_000, ...rest };
    const child = this.spawnIn(from ?? this.client, [process.execPath, program('load'), JSON.stringify(args)], cgroup, 'pipe');
    let out = '';
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.startsWith('started\n')) resolve();
      });
      void exited.then((c) => reject(new Error(`load generator exited (${c}): ${err}`)));
    });
    return {
      stop: async () => {
        child.stdin!.end();
        const code = await exited;
        this.procs.splice(this.procs.indexOf(child), 1);
        if (code !== 0) throw new Error(`load generator failed (${code}): ${err.trim()}`);
        return JSON.parse(out.slice('started\n'.length)) as LoadReport;
      },
    };
  }

  /** Run a command in a namespace and return its stdout. */
  exec(netns: string, argv: string[], input?: string): Promise<string> {
    return sh(['ip', 'netns', 'exec', netns, ...argv], input);
  }

  /** Kill what it started and delete its namespaces; a second call waits for the first. */
  destroy(): Promise<void> {
    this.destroying ??= this.doDestroy();
    return this.destroying;
  }

  private async doDestroy(): Promise<void> {
    this.destroyed = true;
    live.delete(this);
    for (const p of this.procs) if (p.exitCode === null && p.pid) p.kill('SIGKILL');
    await Promise.all(this.procs.map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((r) => p.once('exit', r)) : null)));
    for (const ns of this.namespaces) await sh(['ip', 'netns', 'del', ns]).catch(() => {});
    rmSync(join(REGISTRY, this.id), { force: true });
  }

  /** Synchronous last-resort cleanup (process exit). */
  destroySync(): void {
    for (const p of this.procs) if (p.exitCode === null && p.pid) p.kill('SIGKILL');
    for (const ns of this.namespaces) shSync(['ip', 'netns', 'del', ns]);
    rmSync(join(REGISTRY, this.id), { force: true });
  }
}

/** Where live sandboxes are noted (a tmpfs: gone at reboot, like the namespaces). */
const REGISTRY = '/run/svcproxy/sandboxes';

/**
 * Remove the namespaces of sandboxes whose creating process is gone (killed
 * before it could clean up). Only sandboxes this code created are noted.
 */
async function sweepStale(): Promise<void> {
  let ids: string[] = [];
  try {
    ids = readdirSync(REGISTRY);
  } catch {
    return;
  }
  const all = (await sh(['ip', 'netns', 'list'])).split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);
  for (const id of ids) {
    let note: { pid: number; prefix: string; pids?: number[] };
    try {
      note = JSON.parse(readFileSync(join(REGISTRY, id), 'utf8')) as typeof note;
    } catch {
      continue;
    }
    if (existsSync(`/proc/${note.pid}`)) continue;
    // Its servers and clients, if still running (checked by command line: a PID may be reused).
    for (const pid of note.pids ?? []) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(join(packageRoot, 'dist', 'sandbox', 'programs'))) process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const ns of all.filter((n) => n.startsWith(note.prefix))) await sh(['ip', 'netns', 'del', ns]).catch(() => {});
    rmSync(join(REGISTRY, id), { force: true });
  }
}

export function program(name: string): string {
  const p = join(packageRoot, 'dist', 'sandbox', 'programs', `${name}.js`);
  if (!existsSync(p)) throw new Error(`${p} is missing: run npm run build:ts`);
  return p;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const t of live) t.destroySync();
  });
  // A test runner ends its workers with SIGTERM, which skips 'exit' handlers: clean up, then die as asked.
  for (const sig of ['SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const t of live) t.destroySync();
      process.kill(process.pid, sig);
    });
  }
}

/** Remove every live topology now (for SIGINT handlers of the CLI and lab). */
export async function destroyAll(): Promise<void> {
  await Promise.all([...live].map((t) => t.destroy()));
}
