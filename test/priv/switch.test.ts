/**
 * Live mode switches under load (issue: mode manager): steady new
 * connections plus long-lived connections exchanging data, while the node
 * goes through every ordered pair of the host's modes. Zero failed or slow
 * (> 1 s) connects, zero established connections broken.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open, type ServiceProxy } from '../../src/api/proxy.js';
import type { Mode } from '../../src/dataplanes/types.js';
import { parseServices } from '../../src/model/load.js';
import { mountPrivateBpffs, TestCgroup } from '../../src/sandbox/cgroup.js';
import { Topology } from '../../src/sandbox/topology.js';

const VIP = '10.96.5.10';
// iptables -> nftables -> bpf -> iptables -> bpf -> nftables -> iptables: all six ordered pairs.
const ROUTE: Mode[] = ['nftables', 'bpf', 'iptables', 'bpf', 'nftables', 'iptables'];

describe('switchMode under load', () => {
  let t: Topology;
  let cg: TestCgroup;
  let bpffs: Awaited<ReturnType<typeof mountPrivateBpffs>>;
  let proxy: ServiceProxy;

  beforeAll(async () => {
    t = await Topology.create({ backends: 3 });
    cg = TestCgroup.create('svp-switch');
    bpffs = await mountPrivateBpffs();
    process.env.SVCPROXY_BPFFS = bpffs.path;
    proxy = await open({ mode: 'iptables', netns: t.node, cgroup: cg.path, bpffs: bpffs.path });
  });
  afterAll(async () => {
    try {
      await proxy?.cleanup();
      await proxy?.close();
    } finally {
      await t?.destroy();
      await cg?.remove();
      await bpffs?.unmount();
      delete process.env.SVCPROXY_BPFFS;
    }
  });

  it('loses no connection through every pair of host modes', async () => {
    const set = parseServices(
      JSON.stringify({
        services: [{ name: 'web', clusterIP: VIP, ports: [{ port: 80, targetPort: 8080 }], endpoints: t.backends.map((b) => ({ address: b.addresses[0] })) }],
      }),
    );
    await proxy.apply(set);
    // An echo missing for over a second counts as a stalled (failed) connection.
    const load = await t.startLoad({ targets: [{ host: VIP, port: 80 }], rate: 40, longLived: 6, cgroup: cg.path, maxMs: 120_000, stallMs: 1000 });
    const pause = () => new Promise((r) => setTimeout(r, 700));
    const seen: string[] = [proxy.mode];
    try {
      await pause();
      for (const mode of ROUTE) {
        const r = await proxy.switchMode(mode);
        expect(r.to).toBe(mode);
        seen.push(proxy.mode);
        await pause();
      }
    } finally {
      var report = await load.stop();
    }
    expect(seen).toEqual(['iptables', ...ROUTE]);
    expect(report.errors).toEqual({});
    expect(report.failed).toBe(0);
    expect(report.slow).toBe(0);
    expect(report.longLived).toBe(6);
    expect(report.broken).toBe(0);
    expect(report.stalled).toBe(0);
    expect(report.connects).toBeGreaterThan(100);
    expect(Object.keys(report.backends).sort()).toEqual(['b0', 'b1', 'b2']);
    // Only the final mode holds state.
    expect((await proxy.read()).map((s) => s.clusterIP)).toEqual([VIP]);
  });
});
