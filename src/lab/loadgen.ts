/**
 * The measuring tools, run inside the sandbox: svp-load (tools/svp-load.c,
 * built into dist/tools/) as client and backend server, iperf3 for
 * throughput. Clients run in a namespace and, for bpf mode, inside the lab's
 * cgroup: the process joins the cgroup before it execs, never runs outside.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../native/binding.js';
import type { Topology } from '../sandbox/topology.js';
import { median } from './stats.js';
import type { LatencySummary, RateSummary, ThroughputSummary } from './types.js';

export const LOADGEN = join(packageRoot, 'dist', 'tools', 'svp-load');

export function loadgenPath(): string {
  if (!existsSync(LOADGEN)) throw new Error(`${LOADGEN} is missing: build it with make -C tools`);
  return LOADGEN;
}

export interface Where {
  netns: string;
  /** cgroup v2 directory to run in (bpf mode) */
  cgroup?: string;
}

function wrap(where: Where, argv: string[]): string[] {
  const inNs = ['ip', 'netns', 'exec', where.netns, ...argv];
  return where.cgroup ? ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', where.cgroup, ...inNs] : inNs;
}

function runTool(where: Where, argv: string[], timeoutMs: number): Promise<string> {
  const full = wrap(where, argv);
  return new Promise((resolve, reject) => {
    execFile(full[0]!, full.slice(1), { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${argv.join(' ')} in ${where.netns}: ${(stderr || err.message).trim()}`));
      else resolve(stdout);
    });
  });
}

/** Sequential connect + first byte + close, `samples` times. */
export async function measureLatency(where: Where, host: string, port: number, samples: number): Promise<LatencySummary> {
  const out = await runTool(where, [loadgenPath(), 'lat', host, String(port), String(samples), '1000'], 60_000 + samples * 50);
  const s = JSON.parse(out) as LatencySummary;
  if (s.samples === 0) throw new Error(`no connection to ${host}:${port} succeeded (${s.errors} errors)`);
  return s;
}

/**
 * `rounds` runs of `samples` connections, each percentile the median over
 * the rounds. The machine is shared: one round can be slow (other work) or
 * fast (a quiet moment, a lucky CPU placement), and the lowest of a few
 * rounds let one fast baseline round inflate every ratio (nftables at 30k:
 * rounds 101-109 us against a direct path of 77, 94, 96 us read 1.31x; the
 * medians, 102 and 94 us, 1.09x). Every round's p50 and p99 are kept.
 */
export async function measureLatencyRounds(where: Where, host: string, port: number, samples: number, rounds: number): Promise<LatencySummary> {
  const all: LatencySummary[] = [];
  for (let i = 0; i < rounds; i++) all.push(await measureLatency(where, host, port, samples));
  return medianOfRounds(all);
}

export function medianOfRounds(all: readonly LatencySummary[]): LatencySummary {
  const mid = (k: keyof LatencySummary) => median(all.map((r) => r[k] as number));
  const fewestErrors = all.reduce((a, b) => (b.errors < a.errors ? b : a));
  return {
    samples: fewestErrors.samples,
    errors: fewestErrors.errors,
    min_us: Math.min(...all.map((r) => r.min_us)),
    p50_us: mid('p50_us'),
    p90_us: mid('p90_us'),
    p99_us: mid('p99_us'),
    max_us: Math.max(...all.map((r) => r.max_us)),
    mean_us: mid('mean_us'),
    rounds_p50_us: all.map((r) => r.p50_us),
    rounds_p99_us: all.map((r) => r.p99_us),
  };
}

export async function measureRate(where: Where, host: string, port: number, seconds: number, threads: number): Promise<RateSummary> {
  const out = await runTool(where, [loadgenPath(), 'rate', host, String(port), String(seconds), String(threads), '1000'], (seconds + 30) * 1000);
  return JSON.parse(out) as RateSummary;
}

interface IperfJson {
  end?: { sum_received?: { bits_per_second?: number }; sum_sent?: { retransmits?: number } };
  error?: string;
}

export async function measureThroughput(where: Where, host: string, port: number, seconds: number): Promise<ThroughputSummary> {
  const out = await runTool(where, ['iperf3', '-c', host, '-p', String(port), '-t', String(seconds), '-J', '--connect-timeout', '3000'], (seconds + 30) * 1000).catch(
    (e: Error) => {
      // iperf3 -J reports its own errors on stdout, as JSON.
      throw new Error(`iperf3 to ${host}:${port}: ${e.message}`);
    },
  );
  const j = JSON.parse(out) as IperfJson;
  const bps = j.end?.sum_received?.bits_per_second;
  if (j.error || bps === undefined) throw new Error(`iperf3 to ${host}:${port}: ${j.error ?? 'no result'}`);
  return { seconds, bitsPerSecond: bps, retransmits: j.end?.sum_sent?.retransmits };
}

/** Start a long-running server in a backend namespace and wait until it listens. */
export function startServer(topo: Topology, netns: string, argv: string[], readyWhen: RegExp): Promise<ChildProcess> {
  const child = topo.spawnIn(netns, argv);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${argv[0]} in ${netns} did not start: ${err.trim()}`)), 10_000);
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      if (readyWhen.test(out)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${argv[0]} in ${netns} exited (${code}): ${err.trim()}`));
    });
  });
}

/** Forget finished connections in the node namespace, so runs do not inherit each other's conntrack table. */
export async function flushConntrack(topo: Topology): Promise<void> {
  await topo.exec(topo.node, ['conntrack', '-F']).catch(() => undefined);
}
