/**
 * runLab(): build the sandbox, detect every requested mode inside it,
 * measure the direct path with no rules loaded, then each usable mode at
 * each size; IPVS in User-Mode Linux when the host kernel lacks it. The
 * sandbox is removed at the end, on error, and on SIGINT/SIGTERM.
 */
import { writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { open, type ServiceProxy } from '../api/proxy.js';
import { createDataplane } from '../dataplanes/registry.js';
import { MODES, type Capability, type Mode } from '../dataplanes/types.js';
import { destroyAll } from '../sandbox/topology.js';
import { insideUml } from '../sandbox/uml.js';
import { describeMachine } from './machine.js';
import { measureDirect, measurePoint, pointSteps, type MeasureSettings, type Step } from './measure.js';
import { writeReport } from './report.js';
import { createSandbox, type LabSandbox } from './sandbox.js';
import { umlPlan, runModesInUml } from './uml.js';
import type { KernelRun, LabOptions, LabResults, ModeResult, Origin } from './types.js';
import type { Where } from './loadgen.js';

export const LAB_NODE_NAME = 'lab-node';

export type ResolvedLabOptions = LabResults['options'] & { modes: Mode[] };

export function resolveOptions(o: LabOptions): ResolvedLabOptions {
  const services = [...(o.services ?? [1, 1000, 10000])].sort((a, b) => a - b);
  return {
    services,
    endpoints: [...(o.endpoints ?? [4])].sort((a, b) => a - b),
    modes: o.modes ?? [...MODES],
    samples: o.samples ?? 2000,
    rounds: o.rounds ?? 5,
    rateSeconds: o.rateSeconds ?? 2,
    rateThreads: o.rateThreads ?? 4,
    iperfSeconds: o.iperfSeconds ?? 3,
    changes: o.changes ?? 15,
    syncTimeoutSeconds: o.syncTimeoutSeconds ?? 120,
  };
}

/** bpf balances at connect() time, so its load generator runs on the node itself, inside the lab's cgroup. */
export const originOf = (mode: Mode): Origin => (mode === 'bpf' ? 'node' : 'client');

/** The lab's sandbox, replaced when a mode needs a fresh one (IPVS, below). */
interface SandboxHolder {
  current?: LabSandbox;
  readonly options: Parameters<typeof createSandbox>[0];
}

/** What every mode's measurement needs, made once the sandbox exists. */
interface LabContext {
  o: ResolvedLabOptions;
  options: LabOptions;
  log: (line: string) => void;
  box: SandboxHolder;
  settings: MeasureSettings;
  sizes: { services: number; endpoints: number }[];
  /** progress callback factory: one call per measured step */
  step: (prefix: string) => Step;
  /** report the run as done */
  finish: () => void;
}

/** Remove the sandbox on SIGINT/SIGTERM; returns the function that stops listening. */
function removeOnSignal(box: SandboxHolder, log: (line: string) => void): () => void {
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: removing the lab sandbox`);
    void (async () => {
      const sandbox = box.current;
      // a mode's kernel tool (iptables-restore...) may be mid-run in the node namespace: end it first
      if (sandbox) await sandbox.killInside(sandbox.topo.namespaces).catch(() => undefined);
      // the same removal the run's own finally may have started: wait for all of it
      await sandbox?.remove().catch(() => undefined);
      await destroyAll().catch(() => undefined);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    })();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/** Every requested mode's capability inside the sandbox's node namespace. */
function detectModes(modes: readonly Mode[], sb: LabSandbox, options: LabOptions): Promise<Capability[]> {
  return Promise.all(
    modes.map(async (mode): Promise<Capability> => {
      const dp = await createDataplane(mode, { netns: sb.topo.node, cgroup: sb.cgroup?.path, bpffs: sb.bpffs, nodeName: LAB_NODE_NAME, iptablesBackend: options.iptables });
      try {
        return await dp.detect();
      } finally {
        await dp.close();
      }
    }),
  );
}

/** Where a load generator of `origin` runs in a sandbox. */
const whereOf = (origin: Origin, sb: LabSandbox): Where => (origin === 'node' ? { netns: sb.topo.node, cgroup: sb.cgroup?.path } : { netns: sb.topo.client });

const openIn = (mode: Mode, sb: LabSandbox, options: LabOptions) =>
  open({ mode, netns: sb.topo.node, cgroup: sb.cgroup?.path, bpffs: sb.bpffs, nodeName: LAB_NODE_NAME, iptablesBackend: options.iptables });

/** Measure one usable mode at every size into `result`; a failure stops that mode only. */
async function measureMode(ctx: LabContext, mode: Mode, result: ModeResult): Promise<void> {
  const { box } = ctx;
  let proxy: ServiceProxy | undefined;
  try {
    proxy = await openIn(mode, box.current!, ctx.options);
    await proxy.cleanup();
    for (const [i, size] of ctx.sizes.entries()) {
      // IPVS keeps the destinations a cleanup deleted in a per-namespace trash list for 1-3
      // minutes, and every new destination walks that list (ip_vs_trash_get_dest): after the
      // 10k point's cleanup, the 30k sync took 74 s instead of 5-10 s. A fresh namespace each.
      if (mode === 'ipvs' && i > 0) {
        await proxy.close();
        proxy = undefined;
        await box.current!.remove();
        box.current = await createSandbox(box.options);
        proxy = await openIn(mode, box.current, ctx.options);
      }
      const sb = box.current!;
      result.points.push(await measurePoint(proxy, sb.topo, whereOf(result.origin, sb), size, ctx.settings, ctx.step(`${mode} ${size.services}x${size.endpoints}: `)));
    }
  } catch (e) {
    result.error = (e as Error).message.split('\n')[0];
    ctx.log(`${mode}: stopped: ${result.error}`);
  } finally {
    await proxy?.cleanup().catch(() => undefined);
    await proxy?.close().catch(() => undefined);
  }
}

/** The context for one kernel run, with the progress total counted from what will be measured. */
function labContext(o: ResolvedLabOptions, options: LabOptions, box: SandboxHolder, usable: Mode[], origins: Origin[]): LabContext {
  const settings: MeasureSettings = { ...o, abortKernelWork: () => box.current!.killInside([box.current!.topo.node]) };
  const sizes = o.services.flatMap((services) => o.endpoints.map((endpoints) => ({ services, endpoints })));
  const total = origins.length * (3 + (o.iperfSeconds > 0 ? 1 : 0)) + usable.length * sizes.length * pointSteps(settings);
  let done = 0;
  const step = (prefix: string) => (what: string) => {
    options.onProgress?.({ phase: `${prefix}${what}`, done: done++, total });
  };
  const finish = () => options.onProgress?.({ phase: 'done', done: total, total });
  return { o, options, log: options.onLog ?? (() => undefined), box, settings, sizes, step, finish };
}

/** This kernel's run: detect, the direct path per origin, then each mode. Returns the modes to run in UML. */
async function measureKernel(run: KernelRun, o: ResolvedLabOptions, options: LabOptions, box: SandboxHolder): Promise<Mode[]> {
  const log = options.onLog ?? (() => undefined);
  box.current = await createSandbox(box.options);
  const { topo, cgroup, bpffs } = box.current;
  run.sandbox = { namespaces: topo.namespaces, cgroup: cgroup?.path, bpffs };
  log(`sandbox: ${[...topo.namespaces, cgroup?.path, bpffs].filter(Boolean).join(' ')}`);
  const caps = await detectModes(o.modes, box.current, options);
  const plan = umlPlan(o.modes, caps, options.uml !== false && run.where === 'host');
  const usable = caps.filter((c) => c.usable).map((c) => c.mode as Mode);
  const origins = [...new Set(usable.map(originOf))];
  const ctx = labContext(o, options, box, usable, origins);
  // the direct path runs in the first sandbox; IPVS points may get their own (measureMode)
  for (const origin of origins) run.directs.push(await measureDirect(topo, whereOf(origin, box.current), origin, ctx.settings, ctx.step('')));
  for (const cap of caps) {
    const mode = cap.mode as Mode;
    const result: ModeResult = { mode, usable: cap.usable, reason: plan.reasons.get(mode) ?? cap.reason, versions: cap.versions, notes: cap.notes, origin: originOf(mode), points: [] };
    run.modes.push(result);
    if (cap.usable) await measureMode(ctx, mode, result);
    else log(`${mode}: not measured on ${run.where} kernel ${run.kernel}: ${result.reason}`);
  }
  ctx.finish();
  return plan.modes;
}

/** The other kernel's runs: IPVS inside User-Mode Linux when this kernel lacks it. */
async function umlRuns(umlModes: Mode[], run: KernelRun, o: ResolvedLabOptions, log: (line: string) => void): Promise<KernelRun[]> {
  if (umlModes.length === 0) return [];
  log(`booting User-Mode Linux for ${umlModes.join(', ')} (the host kernel lacks IPVS)`);
  const uml = await runModesInUml(umlModes, o);
  if (!('error' in uml)) return uml.runs;
  for (const m of run.modes) if (umlModes.includes(m.mode) && !m.usable) m.reason = `${m.reason}; the UML run failed: ${uml.error}`;
  log(`UML run failed: ${uml.error}`);
  return [];
}

/** The options as recorded in the results (modes are per run). */
function recordedOptions(o: ResolvedLabOptions): LabResults['options'] {
  const { services, endpoints, samples, rounds, rateSeconds, rateThreads, iperfSeconds, changes, syncTimeoutSeconds } = o;
  return { services, endpoints, samples, rounds, rateSeconds, rateThreads, iperfSeconds, changes, syncTimeoutSeconds };
}

export async function runLab(options: LabOptions = {}): Promise<LabResults> {
  const o = resolveOptions(options);
  const log = options.onLog ?? (() => undefined);
  const startedAt = new Date().toISOString();
  const machine = await describeMachine();
  const run: KernelRun = { where: insideUml() ? 'uml' : 'host', kernel: release(), directs: [], modes: [] };
  const box: SandboxHolder = { options: { backends: Math.max(...o.endpoints), bpf: o.modes.includes('bpf'), iperf: o.iperfSeconds > 0 } };
  const stopListening = removeOnSignal(box, log);
  let umlModes: Mode[];
  try {
    umlModes = await measureKernel(run, o, options, box);
  } finally {
    await box.current?.remove();
    stopListening();
  }
  const runs = [run, ...(await umlRuns(umlModes, run, o, log))];
  const command = options.command ?? 'svcproxy lab';
  const results: LabResults = { schema: 'svcproxy-lab/1', command, startedAt, finishedAt: new Date().toISOString(), machine, options: recordedOptions(o), runs };
  if (options.jsonOut) writeFileSync(options.jsonOut, JSON.stringify(results, null, 2) + '\n');
  if (options.out) writeReport(results, options.out);
  return results;
}
