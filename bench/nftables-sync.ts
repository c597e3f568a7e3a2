/**
 * Measurement of nftables-mode sync times (not a test). Runs only in network
 * namespaces it creates and deletes:
 *   full sync of N services x E endpoints (the first apply of a dataplane),
 *   then one endpoint changed (median of R), an endpoint count change within
 *   its size class (4 <-> 3) and flapping across a power of two (4 <-> 5), read-back; and, for the
 *   "faster than iptables" claim, iptables mode (open({mode:'iptables'}))
 *   loading the same set in a second namespace in the same run.
 * Usage: node --import ./bench/bpf-ts-loader.mjs bench/nftables-sync.ts [N...]
 *   (default 1000 10000 30000; SVP_BENCH_NO_IPTABLES=1 skips iptables,
 *   SVP_BENCH_IPTABLES=nft|auto picks the iptables flavour, default legacy)
 */
import { execFileSync } from 'node:child_process';
import { diff } from '../src/plan/diff.js';
import type { Plan, ServicePortState } from '../src/plan/types.js';
import { scaleStates } from '../test/support/states.js';
import { open } from '../src/api/proxy.js';
import { createNftablesDataplane } from '../src/dataplanes/nftables/index.js';

const ENDPOINTS = 4;
const ROUNDS = 30;
/** changes before the measured ones (JIT and kernel caches warm, as in a running proxy) */
const WARMUP = 5;

const services = (n: number): ServicePortState[] => scaleStates(n, ENDPOINTS);

const plan = (desired: ServicePortState[], actual: ServicePortState[]): Plan => ({ desired, actual, changes: diff(desired, actual) });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** iptables mode, same states, fresh namespace: its first (full) apply, wall and iptables-restore alone */
async function iptablesFull(n: number, netns: string): Promise<{ wallMs: number; restoreMs: number }> {
  // legacy by default: the faster flavour here (iptables-nft-restore took minutes at 10k), the stricter baseline
  const iptablesBackend = (process.env.SVP_BENCH_IPTABLES ?? 'legacy') as 'legacy' | 'nft' | 'auto';
  const proxy = await open({ mode: 'iptables', netns, clusterCIDR: '10.128.0.0/9', iptablesBackend });
  try {
    const p = plan(services(n), []);
    const t0 = performance.now();
    const st = await proxy.dataplane.apply(p);
    return { wallMs: +(performance.now() - t0).toFixed(1), restoreMs: +st.kernelMs.toFixed(1) };
  } finally {
    await proxy.cleanup().catch(() => undefined);
    await proxy.close();
  }
}

type Nft = ReturnType<typeof createNftablesDataplane>;
/** the states a run has applied last (each measurement moves it on) */
interface Run {
  dp: Nft;
  actual: ServicePortState[];
}

/** Apply `next` against what the run holds: wall and kernel time. */
async function step(run: Run, next: ServicePortState[]): Promise<{ wall: number; kernel: number }> {
  const p = plan(next, run.actual);
  const t = performance.now();
  const st = await run.dp.apply(p);
  run.actual = next;
  return { wall: performance.now() - t, kernel: st.kernelMs };
}

/** WARMUP + ROUNDS changes made by `change(round)`; medians (and max) of the measured ones. */
async function rounds(run: Run, change: (r: number) => ServicePortState[]) {
  const wall: number[] = [];
  const kern: number[] = [];
  for (let r = 0; r < WARMUP + ROUNDS; r++) {
    const t = await step(run, change(r));
    if (r < WARMUP) continue;
    wall.push(t.wall);
    kern.push(t.kernel);
  }
  return { medianMs: +median(wall).toFixed(2), kernelMedianMs: +median(kern).toFixed(2), maxMs: +Math.max(...wall).toFixed(2) };
}

/** One endpoint of the middle port moved to another port number per round. */
const oneEndpoint = (run: Run, n: number) =>
  rounds(run, (r) => {
    const idx = Math.floor(n / 2);
    const next = run.actual.slice();
    const s = next[idx]!;
    const eps = s.internal.slice();
    eps[r % ENDPOINTS] = { address: eps[r % ENDPOINTS]!.address, port: 9000 + r };
    next[idx] = { ...s, internal: eps, external: eps };
    return next;
  });

/**
 * Endpoint count changes of port idx between ENDPOINTS and `other`: 4 -> 3 -> 4 stays in size
 * class 4 (slot elements only); 4 -> 5 moves to class 8 once (the verdict changes: the kernel
 * validates the table's jumps at commit), then 5 <-> 4 stays there (n in [C/2, C]).
 */
async function countChange(run: Run, idx: number, other: number) {
  const base = run.actual[idx]!;
  const more = [...base.internal, { address: '10.255.255.1', port: 8080 }];
  const r = await rounds(run, (round) => {
    const eps = round % 2 === 0 ? (other < ENDPOINTS ? base.internal.slice(0, other) : more.slice(0, other)) : base.internal;
    const next = run.actual.slice();
    next[idx] = { ...base, internal: eps, external: eps };
    return next;
  });
  return { medianMs: r.medianMs, kernelMedianMs: r.kernelMedianMs };
}

async function measure(n: number, netns: string) {
  const dp = createNftablesDataplane({ netns, clusterCIDR: '10.128.0.0/9' });
  try {
    await dp.detect(); // opens the libnftables context (once per dataplane, not part of a sync)
    const desired = services(n);
    const p = plan(desired, []);
    const t0 = performance.now();
    const st = await dp.apply(p);
    const tFull = performance.now() - t0;
    // render after: its 270k element texts would otherwise be garbage collected inside the sync
    const tr = performance.now();
    const text = createNftablesDataplane({ clusterCIDR: '10.128.0.0/9' }).render(p);
    const tRender = performance.now() - tr;
    const run: Run = { dp, actual: desired };
    const one = await oneEndpoint(run, n);
    const withinClass = await countChange(run, Math.floor(n / 3), ENDPOINTS - 1);
    const acrossClass = await countChange(run, Math.floor(n / 4), ENDPOINTS + 1);
    const t2 = performance.now();
    const back = await dp.read();
    const tRead = performance.now() - t2;
    const same = diff(run.actual, back);
    return {
      services: n,
      endpoints: ENDPOINTS,
      textBytes: text.length,
      renderMs: +tRender.toFixed(1),
      fullSyncMs: +tFull.toFixed(1),
      fullKernelMs: +st.kernelMs.toFixed(1),
      fullDetail: st.detail,
      oneEndpointMedianMs: one.medianMs,
      oneEndpointKernelMedianMs: one.kernelMedianMs,
      oneEndpointMaxMs: one.maxMs,
      countChangeWithinClass: withinClass,
      countChangeAcrossClass: acrossClass,
      readMs: +tRead.toFixed(1),
      readBackMatches: same.added.length + same.removed.length + same.changed.length === 0,
    };
  } finally {
    await dp.cleanup().catch(() => undefined);
    await dp.close();
  }
}

const sizes = process.argv.slice(2).map(Number).filter((x) => x > 0);
const netns = `svp-nft-bench-${process.pid}`;
const ipt = process.env.SVP_BENCH_NO_IPTABLES ? undefined : `svp-ipt-bench-${process.pid}`;
execFileSync('ip', ['netns', 'add', netns]);
try {
  if (ipt) execFileSync('ip', ['netns', 'add', ipt]);
  // all nftables runs first, then iptables: its teardown of 150k rules keeps the kernel busy for a while
  const results = [];
  for (const n of sizes.length ? sizes : [1000, 10000, 30000]) results.push(await measure(n, netns));
  for (const r of results) {
    const iptables = ipt ? await iptablesFull(r.services, ipt) : undefined;
    console.log(JSON.stringify({ ...r, iptablesFullMs: iptables?.wallMs, iptablesRestoreMs: iptables?.restoreMs }));
  }
} finally {
  execFileSync('ip', ['netns', 'del', netns]);
  if (ipt) execFileSync('ip', ['netns', 'del', ipt]);
}
