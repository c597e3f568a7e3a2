/**
 * bpf-mode sync times (a measurement, not a test). Everything it touches is
 * its own: a closed network namespace (loopback only, no link out), a cgroup
 * created for the run (the programs attach there and nowhere else) and a
 * private bpffs for the pins; all three are removed at the end, also on error.
 *
 * Each run starts from nothing (fresh dataplane, nothing pinned) and times:
 *   full:  one apply of N services x 4 endpoints, program load included
 *   one:   then ROUNDS applies that each change one endpoint (median)
 *   read:  a new dataplane reading the pins back (what a restart costs),
 *          checked against what was applied
 * and prints one JSON line per run, then the medians over RUNS runs.
 * fullSyncCpuMs is the process's CPU time (all threads) during the full
 * sync: on a shared, busy machine wall time can be a multiple of it.
 *
 * Usage: node --import ./bench/bpf-ts-loader.mjs bench/bpf-sync.ts [N] [RUNS]
 * (as root; needs the addon and dist/bpf built: npm run build:native build:bpf)
 */
import { execFileSync } from 'node:child_process';
import { createBpfDataplane } from '../src/dataplanes/bpf/index.js';
import { diff } from '../src/plan/diff.js';
import type { Plan, ServicePortState } from '../src/plan/types.js';
import { scaleStates } from '../test/support/states.js';
import { mountPrivateBpffs, TestCgroup } from '../src/sandbox/cgroup.js';

const ENDPOINTS = 4;
const ROUNDS = 30;

const services = (n: number): ServicePortState[] => scaleStates(n, ENDPOINTS);

const plan = (desired: ServicePortState[], actual: ServicePortState[]): Plan => ({ desired, actual, changes: diff(desired, actual) });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => +x.toFixed(2);

type BpfDataplane = ReturnType<typeof createBpfDataplane>;
type Backends = ServicePortState['internal'];

/**
 * A plan that gives state `idx` new endpoints: the change set is built here
 * (diffing 30k states is the API's work, timed elsewhere, and its garbage
 * would land in these timings).
 */
function endpointPlan(actual: ServicePortState[], idx: number, eps: Backends): Plan {
  const before = actual[idx]!;
  const after = { ...before, internal: eps, external: eps };
  const next = actual.slice();
  next[idx] = after;
  return { desired: next, actual, changes: { added: [], removed: [], changed: [{ before, after, what: new Set(['endpoints'] as const) }], unchanged: actual.length - 1 } };
}

/** The full sync from nothing: wall and CPU time (all threads). */
async function fullSync(dp: BpfDataplane, desired: ServicePortState[]) {
  const full = plan(desired, []);
  await dp.read(); // what open()/plan() do first: nothing pinned yet
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const st = await dp.apply(full);
  const fullMs = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  return { st, fullMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** One endpoint's port changes per round: wall and CPU time of each. */
async function oneChanges(dp: BpfDataplane, start: ServicePortState[]) {
  let actual = start;
  const one: number[] = [];
  const oneCpu: number[] = [];
  const idx = Math.floor(start.length / 2);
  for (let r = 0; r < ROUNDS; r++) {
    const eps = actual[idx]!.internal.slice();
    eps[r % ENDPOINTS] = { address: eps[r % ENDPOINTS]!.address, port: 9000 + r };
    const p = endpointPlan(actual, idx, eps);
    const c1 = process.cpuUsage();
    const t1 = performance.now();
    await dp.apply(p);
    one.push(performance.now() - t1);
    const c = process.cpuUsage(c1);
    oneCpu.push((c.user + c.system) / 1000);
    actual = p.desired;
  }
  return { actual, one, oneCpu };
}

/**
 * One endpoint goes away and comes back (the count changes: 4 -> 3 -> 4),
 * as when an endpoint turns not-ready: what the lab's change measures.
 */
async function countChanges(dp: BpfDataplane, start: ServicePortState[], desired: ServicePortState[]) {
  let actual = start;
  const toggle: number[] = [];
  const toggleKernel: number[] = [];
  const idx = Math.floor(start.length / 2) + 1;
  for (let r = 0; r < ROUNDS; r++) {
    const eps = r % 2 === 0 ? actual[idx]!.internal.slice(0, ENDPOINTS - 1) : desired[idx]!.internal;
    const p = endpointPlan(actual, idx, eps);
    const t1 = performance.now();
    const st1 = await dp.apply(p);
    toggle.push(performance.now() - t1);
    toggleKernel.push(st1.kernelMs);
    actual = p.desired;
  }
  return { actual, toggle, toggleKernel };
}

/** A new dataplane reading the pins back (what a restart costs), checked against `actual`. */
async function readBack(opts: { netns: string; cgroup: string; bpffs: string }, actual: ServicePortState[]) {
  const reader = createBpfDataplane(opts);
  const t2 = performance.now();
  const back = await reader.read();
  const readMs = performance.now() - t2;
  const d = diff(actual, back);
  return { readMs, matches: d.added.length + d.removed.length + d.changed.length === 0 };
}

async function run(n: number, opts: { netns: string; cgroup: string; bpffs: string }) {
  const desired = services(n);
  const dp = createBpfDataplane(opts);
  try {
    const full = await fullSync(dp, desired);
    const ones = await oneChanges(dp, desired);
    const counts = await countChanges(dp, ones.actual, desired);
    const read = await readBack(opts, counts.actual);
    const { st } = full;
    return {
      services: n,
      endpoints: ENDPOINTS,
      fullSyncMs: ms(full.fullMs),
      fullSyncCpuMs: ms(full.cpuMs),
      planMs: ms(st.detail?.planMs ?? NaN),
      kernelMs: ms(st.kernelMs),
      mapElements: st.detail?.mapElements,
      oneChangeMedianMs: ms(median(ones.one)),
      oneChangeCpuMedianMs: ms(median(ones.oneCpu)),
      countChangeMedianMs: ms(median(counts.toggle)),
      countChangeKernelMedianMs: ms(median(counts.toggleKernel)),
      readMs: ms(read.readMs),
      readBackMatches: read.matches,
    };
  } finally {
    await dp.cleanup().catch((e) => console.error(`cleanup: ${e}`));
    await dp.close();
  }
}

const n = Number(process.argv[2] ?? 30000);
const runs = Number(process.argv[3] ?? 5);
const netns = `svp-bpf-bench-${process.pid}`;
const bpffs = await mountPrivateBpffs();
const cg = TestCgroup.create('svp-bpf-bench');
execFileSync('ip', ['netns', 'add', netns]);
try {
  execFileSync('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
  process.env.SVCPROXY_BPFFS = bpffs.path; // for code that predates DataplaneOptions.bpffs
  const results: Awaited<ReturnType<typeof run>>[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await run(n, { netns, cgroup: cg.path, bpffs: bpffs.path });
    console.log(JSON.stringify(r));
    results.push(r);
  }
  const med = (k: 'fullSyncMs' | 'fullSyncCpuMs' | 'planMs' | 'kernelMs' | 'oneChangeMedianMs' | 'oneChangeCpuMedianMs' | 'readMs') => median(results.map((r) => r[k]));
  console.log(
    JSON.stringify({
      median: true,
      runs,
      fullSyncMs: med('fullSyncMs'),
      fullSyncMinMs: Math.min(...results.map((r) => r.fullSyncMs)),
      fullSyncCpuMs: med('fullSyncCpuMs'),
      planMs: med('planMs'),
      kernelMs: med('kernelMs'),
      oneChangeMedianMs: med('oneChangeMedianMs'),
      oneChangeCpuMedianMs: med('oneChangeCpuMedianMs'),
      readMs: med('readMs'),
      allReadBacksMatch: results.every((r) => r.readBackMatches),
    }),
  );
} finally {
  execFileSync('ip', ['netns', 'del', netns]);
  await cg.remove();
  await bpffs.unmount();
}
