/**
 * A long-lived bpf ServiceProxy repairs drift (test/conformance/drift.ts):
 * a services-map entry deleted with bpftool, or a second proxy on the same
 * cgroup applying a different set, is put back by read() + apply() on the
 * original proxy (read() rebuilds the index apply() works from). Clients join
 * a test cgroup; pins go to a private bpffs.
 */
import { open } from '../../src/api/proxy.js';
import { pinPaths } from '../../src/dataplanes/bpf/paths.js';
import { mountPrivateBpffs, TestCgroup } from '../../src/sandbox/cgroup.js';
import { sh } from '../../src/sandbox/shell.js';
import { Topology } from '../../src/sandbox/topology.js';
import { describeDrift, type DriftTarget } from '../conformance/drift.js';

let cgroup: string;

describeDrift('bpf', {
  setup: async () => {
    const bpffs = await mountPrivateBpffs();
    process.env.SVCPROXY_BPFFS = bpffs.path;
    const cg = TestCgroup.create('svp-drift');
    cgroup = cg.path;
    const undo = async () => {
      await cg.remove();
      await bpffs.unmount();
      delete process.env.SVCPROXY_BPFFS;
    };
    let topo: Topology;
    try {
      topo = await Topology.create({ backends: 3 });
    } catch (e) {
      await undo();
      throw e;
    }
    const d: DriftTarget = {
      topo,
      open: () => open({ mode: 'bpf', netns: topo.node, cgroup: cg.path }),
      connect: (host, count, timeoutMs) => topo.connect({ targets: [{ host, port: 80 }], count, timeoutMs, cgroup: cg.path }),
      destroy: async () => {
        try {
          await topo.destroy();
        } finally {
          await undo();
        }
      },
    };
    return d;
  },
  deleteBehind: async (_d, vip) => {
    // the services-map entries whose key holds the VIP's four bytes
    const map = pinPaths(cgroup).services;
    const ip = vip.split('.').map((b) => `0x${Number(b).toString(16).padStart(2, '0')}`).join(' ');
    const entries = JSON.parse(await sh(['bpftool', '-j', 'map', 'dump', 'pinned', map])) as { key: string[] }[];
    const keys = entries.map((e) => e.key).filter((k) => k.join(' ').includes(ip));
    if (keys.length === 0) throw new Error(`no services-map entry for ${vip}`);
    for (const k of keys) await sh(['bpftool', 'map', 'delete', 'pinned', map, 'key', 'hex', ...k.map((b) => b.replace(/^0x/, ''))]);
  },
});
