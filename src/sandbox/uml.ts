/**
 * A real kernel with IPVS, as an ordinary process: User-Mode Linux.
 *
 * runInUml() boots Debian's /usr/bin/linux.uml with the host's own
 * filesystem as root over hostfs (read-write), PID 1 = scripts/uml/init.sh,
 * which puts tmpfs on /run and /tmp first (so `ip netns add` inside never
 * touches the host's /run/netns), insmods the requested modules from
 * /usr/lib/uml/modules/<version> in dependency order, runs one shell command
 * in the given directory, writes its exit status to a host file and powers
 * off. Output is streamed to the host while it runs and returned.
 *
 * The exchange directory lives under /var/tmp (not /tmp: /tmp inside the
 * guest is a tmpfs, so a host /tmp path would be invisible there).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../native/binding.js';

export const UML_KERNEL = '/usr/bin/linux.uml';
export const UML_MODULES_ROOT = '/usr/lib/uml/modules';
export const UML_INIT = join(packageRoot, 'scripts', 'uml', 'init.sh');
const TASKSET = '/usr/bin/taskset';

/** What the svcproxy suites need: IPVS and every scheduler, iptables legacy + nat, conntrack, veth, dummy. */
export const DEFAULT_MODULES: readonly string[] = [
  'ipv6',
  'veth',
  'dummy',
  'bridge',
  // bridged frames through iptables/IPVS, as kubelet requires: a pod's reply to another pod on
  // the bridge must be un-NATed on the node (bridge-nf-call-iptables defaults to 1)
  'br_netfilter',
  'nf_conntrack',
  'nf_nat',
  'ip_vs',
  ...['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'mh', 'fo', 'ovf'].map((s) => `ip_vs_${s}`),
  'x_tables',
  'ip_tables',
  'iptable_filter',
  'iptable_nat',
  'iptable_mangle',
  'ip6_tables',
  'ip6table_filter',
  'ip6table_nat',
  'xt_nat',
  'xt_MASQUERADE',
  'xt_mark',
  'xt_comment',
  'xt_conntrack',
  'xt_addrtype',
  'xt_statistic',
  'xt_recent',
  'xt_multiport',
  'xt_tcpudp',
  'xt_ipvs',
  'xt_REDIRECT',
  'nf_reject_ipv4',
  'ipt_REJECT',
  'nf_reject_ipv6',
  'ip6t_REJECT',
  'xt_set',
  'ip_set',
  'ip_set_hash_ip',
  'ip_set_hash_ipport',
  'ip_set_hash_ipportip',
  'ip_set_hash_ipportnet',
  'ip_set_hash_net',
  'ip_set_bitmap_port',
  'sch_netem',
];

export interface UmlRunOptions {
  /** shell command run inside (by /bin/sh), e.g. "npx vitest run --project uml" */
  command: string;
  /** working directory inside (same path as on the host); default: the package root */
  cwd?: string;
  /** module names (without .ko); default DEFAULT_MODULES */
  modules?: readonly string[];
  /** guest memory, UML syntax; default 1536M */
  memory?: string;
  /** extra environment for the command */
  env?: Record<string, string>;
  /** write the guest console to this stream as it arrives (default process.stdout; null = quiet) */
  stream?: NodeJS.WritableStream | null;
  /** kill the guest after this long; default 15 minutes */
  timeoutMs?: number;
  /** host CPU the guest's processes are pinned to; default the last one this process may use, false: not pinned */
  cpu?: number | false;
}

export interface UmlResult {
  /** exit status of the command; 124 on timeout, 125 when boot/module loading failed */
  status: number;
  /** everything the guest console printed (kernel messages are quietened) */
  output: string;
  durationMs: number;
}

/** Why UML cannot run here, or undefined when it can. */
export function umlUnavailableReason(): string | undefined {
  if (!existsSync(UML_KERNEL)) return `${UML_KERNEL} is missing (apt-get install user-mode-linux)`;
  if (!umlModulesDir()) return `no module tree under ${UML_MODULES_ROOT} (apt-get install user-mode-linux)`;
  if (!existsSync(UML_INIT)) return `${UML_INIT} is missing`;
  return undefined;
}

/**
 * The CPU to pin a guest to. UML runs its one virtual CPU as a host thread
 * that ptrace-switches to a host process per guest process; when the host
 * scheduler spreads them over CPUs every switch is a cross-CPU wake-up.
 * Pinned to one CPU, a guest syscall measured ~5x cheaper here (36 us, not
 * 207 us) and connection latency about 3x lower and steadier.
 */
export function umlCpu(status = readFileSync('/proc/self/status', 'utf8')): number | undefined {
  // Cpus_allowed_list: "0-1", "0,2-5", "3"
  const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(status);
  const last = m?.[1]?.split(',').at(-1)?.split('-').at(-1);
  return last !== undefined && /^\d+$/.test(last) ? Number(last) : undefined;
}

/** The module tree matching the installed UML kernel (the newest one). */
export function umlModulesDir(): string | undefined {
  if (!existsSync(UML_MODULES_ROOT)) return undefined;
  const versions = readdirSync(UML_MODULES_ROOT).filter((v) => existsSync(join(UML_MODULES_ROOT, v, 'modules.dep')));
  versions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const v = versions.at(-1);
  return v ? join(UML_MODULES_ROOT, v) : undefined;
}

/**
 * Module names -> .ko paths relative to UML_MODULES_ROOT, dependencies first,
 * each once. Built-in modules are skipped; an unknown name throws.
 */
export function resolveModules(names: readonly string[], dir = umlModulesDir()): string[] {
  if (!dir) throw new Error(umlUnavailableReason());
  const version = dir.split('/').at(-1)!;
  const norm = (s: string) => s.replace(/-/g, '_');
  const deps = new Map<string, { path: string; deps: string[] }>();
  for (const line of readFileSync(join(dir, 'modules.dep'), 'utf8').split('\n')) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    deps.set(norm(moduleName(m[1]!)), { path: m[1]!, deps: m[2]!.split(/\s+/).filter(Boolean).map((p) => norm(moduleName(p))) });
  }
  const builtin = new Set(
    readFileSync(join(dir, 'modules.builtin'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((p) => norm(moduleName(p))),
  );
  const out: string[] = [];
  const done = new Set<string>();
  const visit = (name: string) => {
    const n = norm(name);
    if (done.has(n) || builtin.has(n)) return;
    const entry = deps.get(n);
    if (!entry) throw new Error(`UML kernel ${version} has no module ${name}`);
    done.add(n);
    // modules.dep lists the whole closure; visiting each first orders them.
    for (const d of entry.deps) visit(d);
    out.push(join(version, entry.path));
  };
  for (const n of names) visit(n);
  return out;
}

const moduleName = (path: string) => path.split('/').at(-1)!.replace(/\.ko(\..*)?$/, '');

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Environment carried into the guest: PATH-like basics plus the caller's. */
function guestEnv(cwd: string, extra: Record<string, string>): string {
  const keep = ['PATH', 'HOME', 'LANG', 'TERM', 'CI', 'NODE_OPTIONS', 'FORCE_COLOR', 'NO_COLOR'];
  const env: Record<string, string> = {};
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  Object.assign(env, { SVCPROXY_IN_UML: '1' }, extra);
  const lines = Object.entries(env).map(([k, v]) => `export ${k}=${shellQuote(v)}`);
  lines.push(`cd ${shellQuote(cwd)} || exit 125`);
  return lines.join('\n') + '\n';
}

/** Boot UML, run the command inside, return its status and output. */
export async function runInUml(opts: UmlRunOptions): Promise<UmlResult> {
  const why = umlUnavailableReason();
  if (why) throw new Error(`cannot run User-Mode Linux: ${why}`);
  const started = Date.now();
  const runDir = mkdtempSync('/var/tmp/svcproxy-uml-');
  try {
    writeFileSync(join(runDir, 'modules'), resolveModules(opts.modules ?? DEFAULT_MODULES).join('\n') + '\n');
    writeFileSync(join(runDir, 'env'), guestEnv(opts.cwd ?? packageRoot, opts.env ?? {}));
    // init.sh keeps this directory visible when it lies under /tmp (hidden by the guest's tmpfs).
    writeFileSync(join(runDir, 'cwd'), (opts.cwd ?? packageRoot) + '\n');
    writeFileSync(join(runDir, 'cmd'), opts.command + '\n');
    const args = [
      `mem=${opts.memory ?? '1536M'}`,
      'rootfstype=hostfs',
      'rootflags=/',
      'rw',
      'quiet',
      'loglevel=1',
      `init=${UML_INIT}`,
      `SVP_RUN=${runDir}`,
      'con=null',
      'con0=fd:0,fd:1',
    ];
    const cpu = opts.cpu === false ? undefined : (opts.cpu ?? umlCpu());
    // taskset (util-linux) execs the kernel: child.pid is UML's, and its helpers inherit the mask.
    const argv = cpu !== undefined && existsSync(TASKSET) ? [TASKSET, '-c', String(cpu), UML_KERNEL, ...args] : [UML_KERNEL, ...args];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const stream = opts.stream === undefined ? process.stdout : opts.stream;
    const chunks: string[] = [];
    const onData = (b: Buffer) => {
      const s = b.toString('utf8').replace(/\r/g, '');
      chunks.push(s);
      stream?.write(s);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // UML's helper processes share its process group (detached: a group of our own).
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }, opts.timeoutMs ?? 15 * 60_000);
    await new Promise<void>((resolve) => child.on('close', () => resolve()));
    clearTimeout(timer);
    const statusFile = join(runDir, 'status');
    let status = timedOut ? 124 : 125;
    if (!timedOut && existsSync(statusFile)) status = Number(readFileSync(statusFile, 'utf8').trim());
    if (Number.isNaN(status)) status = 125;
    return { status, output: chunks.join(''), durationMs: Date.now() - started };
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
}

/** True when this process runs inside a guest booted by runInUml(). */
export const insideUml = () => process.env.SVCPROXY_IN_UML === '1';
