/**
 * The lab's closed sandbox: the shared netns topology (client, node,
 * backends; no link to the root namespace), a svp-load server on every
 * backend, iperf3 on the first, and, when bpf mode is measured, a cgroup and
 * a private bpffs created for this run. remove() undoes all of it.
 */
import { existsSync } from 'node:fs';
import { mountPrivateBpffs, TestCgroup } from '../sandbox/cgroup.js';
import { insideUml } from '../sandbox/uml.js';
import { sh } from '../sandbox/shell.js';
import { Topology } from '../sandbox/topology.js';
import { loadgenPath, startServer } from './loadgen.js';
import { BACKEND_PORT, IPERF_PORT } from './services.js';

export interface LabSandbox {
  topo: Topology;
  cgroup?: TestCgroup;
  /** private bpffs mount for bpf mode's pins */
  bpffs?: string;
  /** SIGKILL every process inside these sandbox namespaces (all started by the lab) */
  killInside(netns: string[]): Promise<void>;
  remove(): Promise<void>;
}

/** PIDs in a namespace we created: only our servers, clients and the kernel tools a mode ran there. */
export async function killInside(netns: readonly string[]): Promise<void> {
  for (const ns of netns) {
    const out = await sh(['ip', 'netns', 'pids', ns]).catch(() => '');
    for (const pid of out.split('\n').filter(Boolean).map(Number)) {
      if (pid === process.pid) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
}

export async function createSandbox(opts: { backends: number; bpf: boolean; iperf: boolean }): Promise<LabSandbox> {
  // The UML guest's /dev is a bare tmpfs of its own; iperf3 needs /dev/urandom (char 1:9).
  if (opts.iperf && insideUml() && !existsSync('/dev/urandom')) await sh(['mknod', '-m', '444', '/dev/urandom', 'c', '1', '9']);
  const topo = await Topology.create({ backends: opts.backends, servers: false });
  let cgroup: TestCgroup | undefined;
  let bpffs: Awaited<ReturnType<typeof mountPrivateBpffs>> | undefined;
  const previousBpffs = process.env.SVCPROXY_BPFFS;
  // One removal, however many callers (the run's finally and a signal handler race).
  let removing: Promise<void> | undefined;
  const remove = () => (removing ??= doRemove());
  const doRemove = async () => {
    try {
      await topo.destroy();
    } finally {
      await cgroup?.remove().catch(() => undefined);
      if (bpffs) {
        await bpffs.unmount().catch(() => undefined);
        if (previousBpffs === undefined) delete process.env.SVCPROXY_BPFFS;
        else process.env.SVCPROXY_BPFFS = previousBpffs;
      }
    }
  };
  try {
    const load = loadgenPath();
    await Promise.all(topo.backends.map((b) => startServer(topo, b.netns, [load, 'serve', String(BACKEND_PORT), '2'], /ready/)));
    if (opts.iperf) await startServer(topo, topo.backends[0]!.netns, ['iperf3', '-s', '-p', String(IPERF_PORT), '--forceflush'], /listening/i);
    if (opts.bpf) {
      // Pins go to a bpffs of our own; programs attach only to this cgroup.
      bpffs = await mountPrivateBpffs();
      process.env.SVCPROXY_BPFFS = bpffs.path;
      cgroup = TestCgroup.create('svp-lab');
    }
  } catch (e) {
    await remove();
    throw e;
  }
  return { topo, cgroup, bpffs: bpffs?.path, killInside, remove };
}
