/**
 * ip6tables in iptables mode, both flavours on the host kernel (the
 * conformance suite runs nft here and legacy in UML): IPv6 tables stay
 * untouched until an IPv6 service port exists, a dual-stack sync rewrites
 * only the family that changed (ip6tables counters survive a v4-only
 * update), and cleanup empties both families.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open, type ServiceProxy } from '../../src/api/proxy.js';
import { parseServices } from '../../src/model/load.js';
import { Topology } from '../../src/sandbox/topology.js';

const set = (o: { v6: boolean; v4Endpoints: number }, t: Topology) =>
  parseServices(
    JSON.stringify({
      services: [
        {
          name: 'web',
          clusterIPs: o.v6 ? ['10.96.2.1', 'fd00:96::2:1'] : ['10.96.2.1'],
          ports: [{ port: 80, targetPort: 8080 }],
          endpoints: [
            ...t.backends.slice(0, o.v4Endpoints).map((b) => ({ address: b.addresses[0]! })),
            ...(o.v6 ? t.backends.map((b) => ({ address: b.addresses6[0]! })) : []),
          ],
        },
      ],
    }),
  );

for (const flavour of ['nft', 'legacy'] as const) {
  describe(`iptables mode, ip6tables-${flavour}`, () => {
    let t: Topology;
    let p: ServiceProxy;
    const save6 = (...args: string[]) => t.exec(t.node, [`ip6tables-${flavour}-save`, ...args]);
    beforeAll(async () => {
      t = await Topology.create({ backends: 3, ipv6: true });
      p = await open({ mode: 'iptables', netns: t.node, iptablesBackend: flavour });
    });
    afterAll(async () => {
      await p?.cleanup().catch(() => {});
      await t?.destroy();
    });

    it('claims IPv6 and leaves ip6tables untouched while no IPv6 service port exists', async () => {
      expect((await p.detect()).families).toEqual([4, 6]);
      await p.apply(set({ v6: false, v4Endpoints: 3 }, t));
      expect(await save6()).not.toMatch(/SVP-|svcproxy/);
    });

    it('programs the v6 ClusterIP through ip6tables; a v4-only update leaves the ip6tables counters alone', async () => {
      await p.apply(set({ v6: true, v4Endpoints: 3 }, t));
      const a = await t.connect({ targets: [{ host: 'fd00:96::2:1', port: 80 }, { host: '10.96.2.1', port: 80 }], count: 9 });
      expect(a.filter((x) => !x.ok)).toEqual([]);
      expect(new Set(a.filter((x) => x.host.includes(':')).map((x) => x.backend)).size).toBe(3);
      const counters = async () => {
        const lines = (await save6('-c', '-t', 'nat')).split('\n').filter((l) => /^\[\d+:\d+\] -A SVP-SVC-/.test(l) && l.includes('-j SVP-SEP-'));
        return lines.reduce((n, l) => n + Number(/^\[(\d+):/.exec(l)![1]), 0);
      };
      const before = await counters();
      expect(before).toBeGreaterThan(0);
      const r = await p.apply(set({ v6: true, v4Endpoints: 2 }, t));
      expect(r.plan.changes.changed.map((c) => c.after.key)).toEqual(['default/web:/TCP@4']);
      expect(r.rules).not.toContain('ip6tables');
      expect(await counters()).toBe(before);
    });

    it('cleanup removes the owned chains of both families', async () => {
      await p.cleanup();
      expect(await save6()).not.toMatch(/SVP-|svcproxy/);
      expect(await t.exec(t.node, [`iptables-${flavour}-save`])).not.toMatch(/SVP-|svcproxy/);
      expect(await p.read()).toEqual([]);
    });
  });
}
