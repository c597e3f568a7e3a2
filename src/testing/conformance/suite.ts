/**
 * The conformance suite: the same behaviour checks for every mode and for
 * the fake. Real targets send real TCP/UDP through the VIP to echo servers
 * that say who they are; the fake answers with its simulated kernel.
 * Tests that a mode cannot support (see Features) are not defined for it,
 * rather than skipped, so CI never shows a skipped privileged test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SvcproxyError } from '../../errors.js';
import { parseServices } from '../../model/load.js';
import type { Attempt } from '../../sandbox/topology.js';
import { ALL_FEATURES, type Features, type Target } from './target.js';
import * as S from './services.js';
import { describeRejectCases } from './reject.js';
import { describeIPv6Cases } from './ipv6.js';

const landed = (a: Attempt[]) => {
  const counts = new Map<string, number>();
  for (const x of a) if (x.ok) counts.set(x.backend!, (counts.get(x.backend!) ?? 0) + 1);
  return counts;
};
const failures = (a: Attempt[]) => a.filter((x) => !x.ok).map((x) => `${x.host}:${x.port}/${x.proto} ${x.error}`);

export function describeConformance(name: string, makeTarget: () => Promise<Target>, features: Partial<Features> = {}): void {
  const f = { ...ALL_FEATURES, ...features };
  describe(`conformance: ${name}`, () => {
    let t: Target;
    beforeAll(async () => {
      t = await makeTarget();
      await t.placeForeign();
    });
    afterAll(async () => {
      if (!t) return;
      try {
        await t.proxy.cleanup();
      } finally {
        await t.destroy();
      }
    });

    it('forwards TCP to every endpoint with a plausible spread', async () => {
      await t.proxy.apply(S.webSet(t));
      const a = await t.connect([{ host: S.VIP, port: 80 }], 60);
      expect(failures(a)).toEqual([]);
      const counts = landed(a);
      expect([...counts.keys()].sort()).toEqual(t.backends.map((b) => b.name).sort());
      // Uniform over 3: each gets ~20 of 60; fewer than 5 has odds below 1e-4.
      for (const n of counts.values()) expect(n).toBeGreaterThanOrEqual(5);
    });

    it('keeps the client address of cluster IP traffic (no clusterCIDR, no masqueradeAll: as kube-proxy)', async () => {
      await t.proxy.apply(S.webSet(t));
      const a = await t.connect([{ host: S.VIP, port: 80 }], 15);
      expect(failures(a)).toEqual([]);
      for (const x of a) expect(x.peer?.split(':')[0]).toBe(t.clientIP);
    });

    it('hairpin: an endpoint calling its own service connects, also when it is picked itself', async () => {
      await t.proxy.apply(S.webSet(t));
      const a = await t.connectFromBackend(0, [{ host: S.VIP, port: 80 }], 30, 2000);
      expect(failures(a)).toEqual([]);
      // 30 picks among 3: never itself has odds below 1e-5
      expect(landed(a).get(t.backends[0]!.name)).toBeGreaterThan(0);
    });

    if (f.udp) {
      it('forwards UDP to every endpoint', async () => {
        await t.proxy.apply(S.webSet(t));
        const a = await t.connect([{ host: S.VIP_UDP, port: 53, proto: 'UDP' }], 45);
        expect(failures(a)).toEqual([]);
        const counts = landed(a);
        expect(counts.size).toBe(t.backends.length);
        for (const n of counts.values()) expect(n).toBeGreaterThanOrEqual(3);
      });
    }

    it('reads back exactly what it programmed; a second apply changes nothing', async () => {
      const r = await t.proxy.apply(S.webSet(t, { nodePort: f.nodePort, externalIPs: f.externalIPs, affinity: true }));
      expect(await t.proxy.read()).toEqual(r.plan.desired);
      const again = await t.proxy.diff(S.webSet(t, { nodePort: f.nodePort, externalIPs: f.externalIPs, affinity: true }));
      expect(again.added.length + again.changed.length + again.removed.length).toBe(0);
    });

    it('forwards each port of a multi-port service to its own target port', async () => {
      await t.proxy.apply(S.webSet(t));
      const a = await t.connect([{ host: S.VIP_MULTI, port: 81 }], 10);
      expect(failures(a)).toEqual([]);
      for (const x of a) expect(x.local).toMatch(/:8081$/);
      const b = await t.connect([{ host: S.VIP_MULTI, port: 80 }], 4);
      for (const x of b) expect(x.local).toMatch(/:8080$/);
    });

    it('pins a client to one endpoint with ClientIP affinity', async () => {
      await t.proxy.apply(S.webSet(t, { affinity: true }));
      const a = await t.connect([{ host: S.VIP, port: 80 }], 20);
      expect(failures(a)).toEqual([]);
      expect(landed(a).size).toBe(1);
    });

    describeRejectCases(() => t, f);
    describeIPv6Cases(() => t, f);

    it('stops new traffic to a removed endpoint', async () => {
      await t.proxy.apply(S.webSet(t));
      const before = landed(await t.connect([{ host: S.VIP, port: 80 }], 30));
      expect(before.size).toBe(3);
      const removed = t.backends[2]!.name;
      await t.proxy.apply(S.webSet(t, { endpoints: 2 }));
      const a = await t.connect([{ host: S.VIP, port: 80 }], 40);
      expect(failures(a)).toEqual([]);
      const counts = landed(a);
      expect(counts.has(removed)).toBe(false);
      expect(counts.size).toBe(2);
      if (f.udp) {
        const u = await t.connect([{ host: S.VIP_UDP, port: 53, proto: 'UDP' }], 20);
        expect(failures(u)).toEqual([]);
        expect(landed(u).has(removed)).toBe(false);
      }
    });

    if (f.nodePort) {
      it('serves a node port on the node address', async () => {
        await t.proxy.apply(S.webSet(t, { nodePort: true }));
        const a = await t.connect([{ host: t.nodeIP, port: S.NODE_PORT }], 30);
        expect(failures(a)).toEqual([]);
        expect(landed(a).size).toBe(3);
        if (f.masquerade) for (const x of a) expect(x.peer?.split(':')[0]).not.toBe(t.clientIP);
      });
    }

    if (f.externalIPs) {
      it('serves external IPs', async () => {
        await t.proxy.apply(S.webSet(t, { externalIPs: true }));
        const a = await t.connect([{ host: S.EXTERNAL_IP, port: 80 }], 15);
        expect(failures(a)).toEqual([]);
        expect(landed(a).size).toBeGreaterThanOrEqual(2);
      });
    }

    if (f.nodePort && f.externalLocal) {
      it('externalTrafficPolicy Local: node port uses local endpoints and keeps the client address', async () => {
        await t.proxy.apply(S.localPolicySet(t));
        const a = await t.connect([{ host: t.nodeIP, port: S.LOCAL_NODE_PORT }], 12);
        expect(failures(a)).toEqual([]);
        expect([...landed(a).keys()]).toEqual([t.backends[0]!.name]);
        for (const x of a) expect(x.peer?.split(':')[0]).toBe(t.clientIP);
        // Cluster IP traffic still uses every endpoint.
        const c = await t.connect([{ host: S.VIP_LOCAL, port: 80 }], 20);
        expect(landed(c).size).toBe(2);
      });
    }

    it('trafficDistribution PreferClose: traffic lands only on endpoints in this node\'s zone', async () => {
      await t.proxy.apply(S.zoneSet(t));
      const a = await t.connect([{ host: S.VIP_ZONE, port: 80 }], 20);
      expect(failures(a)).toEqual([]);
      expect([...landed(a).keys()].sort()).toEqual([t.backends[0]!.name, t.backends[2]!.name]);
    });

    it('refuses invalid or hostile input with one line naming the field, kernel untouched', async () => {
      await t.proxy.apply(S.webSet(t));
      const before = await t.snapshot();
      for (const bad of S.BAD_INPUTS) {
        let err: unknown;
        try {
          await t.proxy.apply(parseServices(bad.text, 'bad.yaml'));
        } catch (e) {
          err = e;
        }
        expect(err, bad.what).toBeInstanceOf(SvcproxyError);
        const e = err as SvcproxyError;
        expect(e.code, bad.what).toBe('EINVAL');
        expect(e.message, bad.what).toMatch(/^bad\.yaml: /);
        expect(e.message, bad.what).toMatch(bad.field);
        expect(e.message.includes('\n'), bad.what).toBe(false);
      }
      expect(await t.snapshot()).toBe(before);
    });

    it('cleanup removes everything svcproxy owns and nothing else', async () => {
      await t.proxy.apply(S.webSet(t, { nodePort: f.nodePort, externalIPs: f.externalIPs, affinity: true }));
      expect(await t.foreignIntact()).toBe(true);
      await t.proxy.cleanup();
      expect(await t.ownedLeft()).toEqual([]);
      expect(await t.proxy.read()).toEqual([]);
      expect(await t.foreignIntact()).toBe(true);
      const a = await t.connect([{ host: S.VIP, port: 80 }], 2, 500);
      expect(a.every((x) => !x.ok)).toBe(true);
    });
  });
}
