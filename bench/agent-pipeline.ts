/**
 * The agent process of bench/agent-scale.ts. It runs from the compiled dist/
 * (the launcher transpiles this file and points its imports there), so its
 * RSS is an agent's, without the TypeScript loader in the process. It starts
 * the API-server stand-in (bench/agent-apiserver.ts, a process of its own),
 * wires the agent core, measures, and sends the result over IPC.
 * Input: argv[2] = JSON PipelineInput.
 */
import { fork } from 'node:child_process';
import { KubeConfig } from '@kubernetes/client-node';
import { open, type ServiceProxy } from '../src/api/proxy.js';
import { SyncLoop, type SyncReport } from '../src/agent/sync.js';
import { ChangeTracker } from '../src/agent/tracker.js';
import { startWatching } from '../src/agent/watch.js';

export interface PipelineInput {
  services: number;
  endpoints: number;
  events: number;
  mode: 'nftables' | 'bpf';
  minSyncPeriodMs: number;
  netns: string;
  cgroup?: string;
  bpffs?: string;
  /** bench/bpf-ts-loader.mjs, for the stand-in process (TypeScript sources) */
  loader: string;
  /** bench/agent-apiserver.ts */
  standIn: string;
}

/** events before the measured ones (JIT warm, as in a running agent) */
const WARMUP = 10;
const wallNow = () => performance.timeOrigin + performance.now();
const round = (x: number, d = 1) => +x.toFixed(d);
const mib = (b: number) => round(b / 2 ** 20);

/** The tracker with its time and each event's arrival recorded (the agent core has no hook for it). */
class TimedTracker extends ChangeTracker {
  /** ms spent taking objects in (parse, validate, index) */
  inMs = 0;
  /** ms spent building model Services for the full sync */
  allMs = 0;
  /** performance.now() when the last object was handed to the tracker */
  lastArrival = 0;
  private timed(fn: () => void): void {
    const t = performance.now();
    this.lastArrival = t;
    fn();
    this.inMs += performance.now() - t;
  }
  override setService(o: unknown) { this.timed(() => super.setService(o)); }
  override deleteService(o: unknown) { this.timed(() => super.deleteService(o)); }
  override setSlice(o: unknown) { this.timed(() => super.setSlice(o)); }
  override deleteSlice(o: unknown) { this.timed(() => super.deleteSlice(o)); }
  override all() {
    const t = performance.now();
    const r = super.all();
    this.allMs += performance.now() - t;
    return r;
  }
}

/** The stand-in process; request() sends one message and waits for its answer. */
function startStandIn(input: PipelineInput) {
  const child = fork(input.standIn, [], { execArgv: ['--import', input.loader], stdio: 'inherit' });
  let waiting: { resolve: (m: unknown) => void; reject: (e: Error) => void } | undefined;
  child.on('message', (m) => waiting?.resolve(m));
  child.on('exit', (c) => waiting?.reject(new Error(`stand-in exited (${c})`)));
  const request = <T>(m: object) =>
    new Promise<T>((resolve, reject) => {
      waiting = { resolve: resolve as (m: unknown) => void, reject };
      child.send(m);
    });
  const close = () => (child.connected ? child.send({ op: 'close' }) : undefined);
  return { request, close };
}

function kubeconfigFor(url: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 's', server: url, skipTLSVerify: true }], users: [{ name: 'u' }], contexts: [{ name: 'c', cluster: 's', user: 'u' }], currentContext: 'c' });
  return kc;
}

interface Synced { report: SyncReport; perf: number; wall: number }

/**
 * The agent core wired as startAgent() does (watch -> tracker -> runner ->
 * sync -> ServiceProxy). To measure startAgent() instead, replace this
 * function: it needs a tracker hook for arrivals and an onSync callback.
 */
function startPipeline(o: { url: string; proxy: ServiceProxy; minSyncPeriodMs: number }) {
  const tracker = new TimedTracker();
  let waiter: ((r: Synced) => void) | undefined;
  const loop = new SyncLoop({
    proxy: o.proxy,
    tracker,
    minSyncPeriodMs: o.minSyncPeriodMs,
    syncPeriodMs: 3_600_000, // no periodic reconcile inside the measurement
    onSync: (report) => waiter?.({ report, perf: performance.now(), wall: wallNow() }),
    onError: (e) => console.error('sync failed:', e),
  });
  // time the full sync's read-back (the kernel is the judge)
  let readMs = 0;
  const read = o.proxy.read.bind(o.proxy);
  o.proxy.read = async () => {
    const t = performance.now();
    const r = await read();
    readMs += performance.now() - t;
    return r;
  };
  const watchers = startWatching({ kubeconfig: kubeconfigFor(o.url), tracker, onChange: () => loop.changed(), onError: (r, e) => console.error(`watch ${r}:`, e) });
  return {
    tracker,
    synced: watchers.synced.then(() => loop.start()),
    nextSync: () => new Promise<Synced>((r) => (waiter = r)),
    readMs: () => readMs,
    stop: async () => {
      await watchers.stop();
      await loop.stop();
    },
  };
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const stats = (xs: number[]) => ({ p50: round(pct(xs, 50), 2), p99: round(pct(xs, 99), 2), max: round(Math.max(...xs), 2) });

async function firstSync(p: ReturnType<typeof startPipeline>, input: PipelineInput, t0: number) {
  const first = p.nextSync();
  await p.synced;
  const tListed = performance.now();
  stage('listed (informer caches + tracker)');
  const inMs = p.tracker.inMs;
  const { report, perf } = await first;
  if (!report.full || report.added !== input.services) throw new Error(`first sync: expected a full sync adding ${input.services}, got ${JSON.stringify(report)}`);
  const mem = process.memoryUsage();
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const after = process.memoryUsage();
  return {
    firstSync: {
      totalMs: round(perf - t0),
      listAndDecodeMs: round(tListed - t0 - inMs),
      trackerInMs: round(inMs),
      trackerBuildMs: round(p.tracker.allMs),
      readBackMs: round(p.readMs()),
      planMs: round(report.totalMs - report.kernelMs - p.readMs() - p.tracker.allMs),
      kernelMs: round(report.kernelMs),
      added: report.added,
    },
    memory: { rssMiB: mib(mem.rss), heapUsedMiB: mib(mem.heapUsed), ...(gc ? { rssAfterGcMiB: mib(after.rss), heapUsedAfterGcMiB: mib(after.heapUsed) } : {}) },
  };
}

/** SVP_BENCH_STAGES=1: heap and RSS after a gc() at stage boundaries (for finding memory; distorts the times). */
function stage(name: string): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!process.env.SVP_BENCH_STAGES || !gc) return;
  gc();
  const m = process.memoryUsage();
  console.error(`stage ${name}: rss ${mib(m.rss)} MiB, heapUsed ${mib(m.heapUsed)} MiB, external ${mib(m.external)} MiB, arrayBuffers ${mib(m.arrayBuffers)} MiB`);
}

/** N one-endpoint modifications, one at a time: each is programmed before the next is written. */
async function latency(p: ReturnType<typeof startPipeline>, input: PipelineInput, request: <T>(m: object) => Promise<T>) {
  const arrival: number[] = [];
  const endToEnd: number[] = [];
  const kernel: number[] = [];
  for (let r = 0; r < WARMUP + input.events; r++) {
    const index = (r * 7919 + 13) % input.services; // spread over the set
    const synced = p.nextSync();
    const { at } = await request<{ at: number }>({ op: 'modify', index, round: r });
    const done = await withTimeout(synced, 5000, `event ${r} (svc-${index}) was not programmed`);
    if (done.report.full || done.report.changed !== 1) throw new Error(`event ${r}: unexpected sync ${JSON.stringify(done.report)}`);
    if (r < WARMUP) continue;
    arrival.push(done.perf - p.tracker.lastArrival);
    endToEnd.push(done.wall - at);
    kernel.push(done.report.kernelMs);
  }
  return { events: input.events, arrivalToKernelMs: stats(arrival), writeToKernelMs: stats(endToEnd), kernelCallMs: stats(kernel) };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

async function main(input: PipelineInput) {
  const standIn = startStandIn(input);
  let proxy: ServiceProxy | undefined;
  try {
    const ready = await standIn.request<{ url: string; populateMs: number }>({ op: 'populate', services: input.services, endpoints: input.endpoints });
    proxy = await open({ mode: input.mode, netns: input.netns, cgroup: input.cgroup, bpffs: input.bpffs, clusterCIDR: '10.128.0.0/9', nodeName: 'node-1' });
    stage('before the agent starts');
    const t0 = performance.now();
    const p = startPipeline({ url: ready.url, proxy, minSyncPeriodMs: input.minSyncPeriodMs });
    try {
      const first = await firstSync(p, input, t0);
      return { standInPopulateMs: round(ready.populateMs), ...first, latency: await latency(p, input, standIn.request) };
    } finally {
      await p.stop();
    }
  } finally {
    await proxy?.cleanup().catch(() => undefined);
    await proxy?.close().catch(() => undefined);
    standIn.close();
  }
}

main(JSON.parse(process.argv[2]!) as PipelineInput).then(
  (result) => process.send!({ result }, () => process.exit(0)),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
