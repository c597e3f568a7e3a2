/**
 * Fixtures for agent tests over the API-server stand-in: Kubernetes objects
 * (Service, EndpointSlice, Node), a kubeconfig file pointing at the stand-in,
 * and the agent as a child process (`svcproxy agent`) whose JSON log lines
 * are parsed and awaited. A child is ended only by its own PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PortSpec {
  name?: string;
  port: number;
  targetPort: number;
  protocol?: 'TCP' | 'UDP';
  nodePort?: number;
}

export const kubeService = (name: string, clusterIP: string, ports: PortSpec[] = [{ name: 'http', port: 80, targetPort: 8080 }], extra: Record<string, unknown> = {}) => ({
  metadata: { name, namespace: 'default' },
  spec: { type: 'ClusterIP', clusterIP, ports: ports.map((p) => ({ protocol: 'TCP', ...p })), ...extra },
});

export const kubeSlice = (name: string, service: string, addresses: string[], opts: { nodeName?: string; ports?: PortSpec[] } = {}) => ({
  metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
  addressType: 'IPv4',
  endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true, serving: true, terminating: false }, ...(opts.nodeName ? { nodeName: opts.nodeName } : {}) })),
  ports: (opts.ports ?? [{ name: 'http', port: 80, targetPort: 8080 }]).map((p) => ({ name: p.name ?? '', port: p.targetPort, protocol: p.protocol ?? 'TCP' })),
});

export const kubeNode = (name: string, opts: { zone?: string; deleting?: boolean } = {}) => ({
  metadata: {
    name,
    labels: { 'kubernetes.io/hostname': name, ...(opts.zone ? { 'topology.kubernetes.io/zone': opts.zone } : {}) },
    ...(opts.deleting ? { deletionTimestamp: new Date().toISOString(), finalizers: ['test/hold'] } : {}),
  },
  spec: {},
});

export function writeKubeconfig(dir: string, server: string): string {
  const file = join(dir, 'kubeconfig.yaml');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: standin, cluster: {server: "' + server + '", insecure-skip-tls-verify: true}}]',
      'users: [{name: u, user: {}}]',
      'contexts: [{name: c, context: {cluster: standin, user: u}}]',
      'current-context: c',
      '',
    ].join('\n'),
  );
  return file;
}

export type LogLine = { level: number; msg: string } & Record<string, unknown>;

const bin = new URL('../../bin/svcproxy.js', import.meta.url).pathname;

/** `svcproxy agent` as a child process; its stderr is pino JSON, one object a line. */
export class AgentChild {
  readonly lines: LogLine[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private stderrTail = '';
  private partial = '';

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [bin, 'agent', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.exited = new Promise((r) => this.child.on('exit', (code, signal) => r({ code, signal })));
    this.child.stderr!.on('data', (d: Buffer) => this.take(d.toString()));
  }

  private take(text: string): void {
    const all = this.partial + text;
    const parts = all.split('\n');
    this.partial = parts.pop()!;
    for (const l of parts) {
      try {
        this.lines.push(JSON.parse(l) as LogLine);
      } catch {
        this.stderrTail = (this.stderrTail + l + '\n').slice(-4000);
      }
    }
  }

  /** Wait for a log line matching, from index `from` on; returns it. */
  async waitFor(match: (l: LogLine) => boolean, timeoutMs = 20_000, from = 0): Promise<LogLine> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.slice(from).find(match);
      if (hit) return hit;
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`agent exited (${this.child.exitCode ?? this.child.signalCode}): ${this.stderrTail}${JSON.stringify(this.lines.slice(-5))}`);
      if (Date.now() > end) throw new Error(`timed out waiting for a log line; last: ${JSON.stringify(this.lines.slice(-5))} ${this.stderrTail}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The bound ports from the 'serving' line. */
  async ports(): Promise<{ healthz: number; metrics: number }> {
    const l = await this.waitFor((x) => x.msg === 'serving');
    const port = (s: unknown) => Number(String(s).split(':').pop());
    return { healthz: port(l.healthz), metrics: port(l.metrics) };
  }

  syncs(from = 0): LogLine[] {
    return this.lines.slice(from).filter((l) => l.msg === 'full sync' || l.msg === 'partial sync' || l.msg === 'full reconcile repaired drift');
  }

  /** Kill it (this child's PID only) and wait for it to be gone. */
  async kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}
