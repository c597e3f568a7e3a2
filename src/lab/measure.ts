/**
 * One mode at one size: full sync from empty, data-plane figures to the
 * first and last service, one-endpoint changes, then cleanup. And the direct
 * path (origin -> backend, no rules loaded) every ratio is taken against.
 */
import type { ServiceProxy } from '../api/proxy.js';
import type { Service } from '../model/types.js';
import type { Topology } from '../sandbox/topology.js';
import { flushConntrack, measureLatency, measureLatencyRounds, measureRate, measureThroughput, type Where } from './loadgen.js';
import { kernelMemoryKiB } from './machine.js';
import { asSet, backendAddress, BACKEND_PORT, IPERF_PORT, IPERF_VIP, labServices, SERVICE_PORT, vipOf, withLastEndpointToggled } from './services.js';
import { median } from './stats.js';
import type { DirectFigures, Origin, Point } from './types.js';

export interface MeasureSettings {
  samples: number;
  rounds: number;
  rateSeconds: number;
  rateThreads: number;
  iperfSeconds: number;
  changes: number;
  syncTimeoutSeconds: number;
  /** end the kernel tools a mode runs in the node namespace (a sync past its deadline) */
  abortKernelWork?: () => Promise<void>;
}

export class SyncTimeout extends Error {}

const MIN_CHANGES = 3;
const SETTLE_MS = 1000;
const CHANGE_BUDGET_MS = 20_000;

/** The apply, or an abort once the deadline passes (the kernel tool is killed; atomic syncs commit nothing). */
async function withDeadline<T>(work: Promise<T>, seconds: number, abort: (() => Promise<void>) | undefined, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), seconds * 1000)));
  try {
    const first = await Promise.race([work, deadline]);
    if (first !== 'late') return first;
    // Keep ending what runs in the node namespace until the apply gives up:
    // at the deadline its kernel tool may not have been started yet.
    let settled = false;
    const done = work.then(
      () => (settled = true),
      () => (settled = true),
    );
    while (!settled && abort) {
      await abort();
      await Promise.race([done, new Promise((r) => setTimeout(r, 100))]);
    }
    await done;
    throw new SyncTimeout(`${what} did not finish within ${seconds} s: aborted, larger sizes skipped`);
  } finally {
    clearTimeout(timer);
  }
}

/** Called before each step with its name; counts progress. */
export type Step = (phase: string) => void;

export async function measureDirect(topo: Topology, where: Where, origin: Origin, s: MeasureSettings, step: Step): Promise<DirectFigures> {
  const target = backendAddress(0);
  step(`direct from ${origin}: warm-up`);
  // a first, unrecorded pass: fresh namespaces, cold caches, binaries still loading (UML over hostfs)
  await measureLatency(where, target, BACKEND_PORT, Math.min(s.samples, 500));
  await measureRate(where, target, BACKEND_PORT, Math.min(s.rateSeconds, 1), s.rateThreads);
  if (s.iperfSeconds > 0) await measureThroughput(where, target, IPERF_PORT, 1);
  step(`direct from ${origin}: latency`);
  await flushConntrack(topo);
  const latency = await measureLatencyRounds(where, target, BACKEND_PORT, s.samples, s.rounds);
  step(`direct from ${origin}: connection rate`);
  const rate = await measureRate(where, target, BACKEND_PORT, s.rateSeconds, s.rateThreads);
  let throughput;
  if (s.iperfSeconds > 0) {
    step(`direct from ${origin}: iperf3`);
    throughput = await measureThroughput(where, target, IPERF_PORT, s.iperfSeconds);
  }
  await flushConntrack(topo);
  return { origin, latency, rate, throughput };
}

/** Steps measurePoint() reports, for the progress total. */
export const pointSteps = (s: MeasureSettings): number => 7 + (s.iperfSeconds > 0 ? 1 : 0);

type Size = { services: number; endpoints: number };

/** The full sync from empty: its time, the kernel memory it took, and the process memory after. */
async function fullSync(proxy: ServiceProxy, services: Service[], size: Size, s: MeasureSettings) {
  const kernelBefore = kernelMemoryKiB();
  const t0 = performance.now();
  const applied = await withDeadline(proxy.apply(asSet(services)), s.syncTimeoutSeconds, s.abortKernelWork, `full sync of ${size.services} x ${size.endpoints}`);
  const wallMs = performance.now() - t0;
  const kernelDeltaKiB = kernelMemoryKiB() - kernelBefore;
  return { wallMs, kernelDeltaKiB, mem: process.memoryUsage(), stats: applied.stats! };
}

/** Latency to the first and last service and the direct path with rules loaded, the rate and throughput through a VIP. */
async function dataPath(topo: Topology, where: Where, lastVip: string, s: MeasureSettings, step: Step) {
  await flushConntrack(topo);
  step('latency, first service');
  const first = await measureLatencyRounds(where, vipOf(0), SERVICE_PORT, s.samples, s.rounds);
  step('latency, last service');
  const last = await measureLatencyRounds(where, lastVip, SERVICE_PORT, s.samples, s.rounds);
  step('latency, direct path with rules loaded');
  const directLoaded = await measureLatencyRounds(where, backendAddress(0), BACKEND_PORT, s.samples, s.rounds);
  step('connection rate, last service');
  const rate = await measureRate(where, lastVip, SERVICE_PORT, s.rateSeconds, s.rateThreads);
  let throughput;
  if (s.iperfSeconds > 0) {
    step('iperf3 through a VIP');
    throughput = await measureThroughput(where, IPERF_VIP, IPERF_PORT, s.iperfSeconds);
  }
  await flushConntrack(topo);
  return { first, last, directLoaded, rate, throughput };
}

/** One-endpoint changes of the last service, as a controller hands them over on EndpointSlice events. */
async function endpointChanges(proxy: ServiceProxy, services: Service[], s: MeasureSettings) {
  const wall: number[] = [];
  const kernel: number[] = [];
  const written: number[] = [];
  let current = services;
  // up to s.changes, but a mode whose change takes seconds (iptables at 30k in UML) stops after
  // CHANGE_BUDGET_MS once it has MIN_CHANGES: the median of 3 there, of all where changes are fast
  const started = performance.now();
  for (let i = 0; i < s.changes && (i < MIN_CHANGES || performance.now() - started < CHANGE_BUDGET_MS); i++) {
    // alternate: last endpoint of the last service goes not-ready, then ready again
    current = withLastEndpointToggled(current, i % 2 === 1);
    // What a controller does on one EndpointSlice event: hand over the one changed Service.
    const c0 = performance.now();
    const r = await proxy.update({ set: [current[current.length - 1]!] });
    wall.push(performance.now() - c0);
    kernel.push(r.stats!.kernelMs);
    written.push(r.stats!.written);
  }
  return { wallMs: wall, kernelMs: kernel, medianWallMs: median(wall), medianKernelMs: median(kernel), written };
}

export async function measurePoint(proxy: ServiceProxy, topo: Topology, where: Where, size: Size, s: MeasureSettings, step: Step): Promise<Point> {
  const services = labServices(size.services, size.endpoints);

  step('direct path, no rules loaded');
  await flushConntrack(topo);
  const directBefore = await measureLatencyRounds(where, backendAddress(0), BACKEND_PORT, s.samples, s.rounds);

  step('full sync');
  const sync = await fullSync(proxy, services, size, s);
  const { first, last, directLoaded, rate, throughput } = await dataPath(topo, where, vipOf(size.services - 1), s, step);
  // The flush frees thousands of flows from the rate run through RCU callbacks: the first map
  // writes after it measured 2-4 ms in the kernel in every mode. Let the kernel finish first.
  await new Promise((r) => setTimeout(r, SETTLE_MS));

  step('one endpoint change');
  const change = await endpointChanges(proxy, services, s);

  const c0 = performance.now();
  await proxy.cleanup();
  const cleanupMs = performance.now() - c0;

  const { mem } = sync;
  return {
    services: size.services,
    endpoints: size.endpoints,
    sync: { wallMs: sync.wallMs, kernelMs: sync.stats.kernelMs, detail: sync.stats.detail },
    change,
    cleanupMs,
    memory: { rssKiB: Math.round(mem.rss / 1024), heapUsedKiB: Math.round(mem.heapUsed / 1024), kernelDeltaKiB: sync.kernelDeltaKiB },
    latency: { first, last, directLoaded, directBefore },
    rate,
    throughput,
  };
}
