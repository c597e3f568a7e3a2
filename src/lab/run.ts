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
import { measureDirect, measurePoint, pointSteps, type MeasureSettings } from './measure.js';
import { writeReport } from './report.js';
import { createSandbox, type LabSandbox } from './sandbox.js';
import { umlPlan, runModesInUml } from './uml.js';
import type { DirectFigures, KernelRun, LabOptions, LabResults, ModeResult, Origin } from './types.js';
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

export async function runLab(options: LabOptions = {}): Promise<LabResults> {
  const o = resolveOptions(options);
  const log = options.onLog ?? (() => undefined);
  const startedAt = new Date().toISOString();
  const machine = await describeMachine();
  const where = insideUml() ? 'uml' : 'host';

  let sandbox: LabSandbox | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: removing the lab sandbox`);
    void (async () => {
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

  const run: KernelRun = { where, kernel: release(), directs: [], modes: [] };
  let umlModes: Mode[] = [];
  try {
    const sandboxOptions = { backends: Math.max(...o.endpoints), bpf: o.modes.includes('bpf'), iperf: o.iperfSeconds > 0 };
    sandbox = await createSandbox(sandboxOptions);
    const { topo, cgroup, bpffs } = sandbox;
    run.sandbox = { namespaces: topo.namespaces, cgroup: cgroup?.path, bpffs };
    log(`sandbox: ${[...topo.namespaces, cgroup?.path, bpffs].filter(Boolean).join(' ')}`);
    const caps = await Promise.all(
      o.modes.map(async (mode): Promise<Capability> => {
        const dp = await createDataplane(mode, { netns: topo.node, cgroup: cgroup?.path, bpffs, nodeName: LAB_NODE_NAME, iptablesBackend: options.iptables });
        try {
          return await dp.detect();
        } finally {
          await dp.close();
        }
      }),
    );
    const plan = umlPlan(o.modes, caps, options.uml !== false && where === 'host');
    umlModes = plan.modes;
    const usable = caps.filter((c) => c.usable).map((c) => c.mode as Mode);
    const origins = [...new Set(usable.map(originOf))];
    // the sandbox in use: IPVS points get one each (below)
    const whereOf = (origin: Origin, sb: LabSandbox = sandbox!): Where => (origin === 'node' ? { netns: sb.topo.node, cgroup: sb.cgroup?.path } : { netns: sb.topo.client });
    const settings: MeasureSettings = { ...o, abortKernelWork: () => sandbox!.killInside([sandbox!.topo.node]) };
    const openIn = (mode: Mode, sb: LabSandbox) =>
      open({ mode, netns: sb.topo.node, cgroup: sb.cgroup?.path, bpffs: sb.bpffs, nodeName: LAB_NODE_NAME, iptablesBackend: options.iptables });
    const sizes = o.services.flatMap((services) => o.endpoints.map((endpoints) => ({ services, endpoints })));
    const total = origins.length * (3 + (o.iperfSeconds > 0 ? 1 : 0)) + usable.length * sizes.length * pointSteps(settings);
    let done = 0;
    const step = (prefix: string) => (what: string) => {
      options.onProgress?.({ phase: `${prefix}${what}`, done: done++, total });
    };

    const directs: DirectFigures[] = [];
    for (const origin of origins) directs.push(await measureDirect(topo, whereOf(origin), origin, settings, step('')));
    run.directs = directs;

    for (const cap of caps) {
      const mode = cap.mode as Mode;
      const result: ModeResult = {
        mode,
        usable: cap.usable,
        reason: plan.reasons.get(mode) ?? cap.reason,
        versions: cap.versions,
        notes: cap.notes,
        origin: originOf(mode),
        points: [],
      };
      run.modes.push(result);
      if (!cap.usable) {
        log(`${mode}: not measured on ${where} kernel ${run.kernel}: ${result.reason}`);
        continue;
      }
      let proxy: ServiceProxy | undefined;
      try {
        proxy = await openIn(mode, sandbox);
        await proxy.cleanup();
        for (const [i, size] of sizes.entries()) {
          // IPVS keeps the destinations a cleanup deleted in a per-namespace trash list for 1-3
          // minutes, and every new destination walks that list (ip_vs_trash_get_dest): after the
          // 10k point's cleanup, the 30k sync took 74 s instead of 5-10 s. A fresh namespace each.
          if (mode === 'ipvs' && i > 0) {
            await proxy.close();
            proxy = undefined;
            await sandbox.remove();
            sandbox = await createSandbox(sandboxOptions);
            proxy = await openIn(mode, sandbox);
          }
          result.points.push(await measurePoint(proxy, sandbox.topo, whereOf(result.origin), size, settings, step(`${mode} ${size.services}x${size.endpoints}: `)));
        }
      } catch (e) {
        result.error = (e as Error).message.split('\n')[0];
        log(`${mode}: stopped: ${result.error}`);
      } finally {
        await proxy?.cleanup().catch(() => undefined);
        await proxy?.close().catch(() => undefined);
      }
    }
    options.onProgress?.({ phase: 'done', done: total, total });
  } finally {
    await sandbox?.remove();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const runs: KernelRun[] = [run];
  if (umlModes.length > 0) {
    log(`booting User-Mode Linux for ${umlModes.join(', ')} (the host kernel lacks IPVS)`);
    const uml = await runModesInUml(umlModes, o);
    if ('error' in uml) {
      for (const m of run.modes) if (umlModes.includes(m.mode) && !m.usable) m.reason = `${m.reason}; the UML run failed: ${uml.error}`;
      log(`UML run failed: ${uml.error}`);
    } else runs.push(...uml.runs);
  }

  const results: LabResults = {
    schema: 'svcproxy-lab/1',
    command: options.command ?? 'svcproxy lab',
    startedAt,
    finishedAt: new Date().toISOString(),
    machine,
    options: {
      services: o.services,
      endpoints: o.endpoints,
      samples: o.samples,
      rounds: o.rounds,
      rateSeconds: o.rateSeconds,
      rateThreads: o.rateThreads,
      iperfSeconds: o.iperfSeconds,
      changes: o.changes,
      syncTimeoutSeconds: o.syncTimeoutSeconds,
    },
    runs,
  };
  if (options.jsonOut) writeFileSync(options.jsonOut, JSON.stringify(results, null, 2) + '\n');
  if (options.out) writeReport(results, options.out);
  return results;
}
