/**
 * Drift repair by a long-lived ServiceProxy, for any mode: when what the
 * kernel holds changed behind its back (an object deleted by hand, or a
 * second ServiceProxy on the same namespace applying a different set),
 * read() + apply() of the same set through the ORIGINAL proxy puts it back.
 * Real TCP through the VIPs; read() must equal the desired plan afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceProxy } from '../../src/api/proxy.js';
import type { ApplyStats } from '../../src/dataplanes/types.js';
import { parseServices } from '../../src/model/load.js';
import type { ServiceSet } from '../../src/model/types.js';
import type { Attempt, Topology } from '../../src/sandbox/topology.js';

export const WEB = '10.96.0.10';
export const API = '10.96.0.20';

export interface DriftTarget {
  topo: Topology;
  /** a new ServiceProxy of the mode on the same namespace (and cgroup) */
  open(): Promise<ServiceProxy>;
  connect(host: string, count: number, timeoutMs: number): Promise<Attempt[]>;
  destroy(): Promise<void>;
}

export interface DriftOptions {
  setup: () => Promise<DriftTarget>;
  /** remove what forwards `vip`:80/TCP by hand, with the mode's own tool (a case of its own) */
  deleteBehind?: (d: DriftTarget, vip: string) => Promise<void>;
  /** what an update() after a read() with no drift must show of the mode's incremental path */
  incremental?: (stats: ApplyStats | undefined) => void;
}

const landed = (a: Attempt[]) => [...new Set(a.filter((x) => x.ok).map((x) => x.backend!))].sort();
const failures = (a: Attempt[]) => a.filter((x) => !x.ok).map((x) => `${x.host}:${x.port} ${x.error}`);

/** web on backends `web`, api on backends `api` (indexes into the topology's backends) */
function services(t: Topology, o: { web: number[]; api?: number[] }): ServiceSet {
  const svc = (name: string, ip: string, on: number[]) => ({
    name,
    namespace: 'drift',
    clusterIP: ip,
    ports: [{ name: 'http', port: 80, targetPort: 8080 }],
    endpoints: on.map((i) => ({ address: t.backends[i]!.addresses[0]! })),
  });
  return parseServices(JSON.stringify({ services: [svc('web', WEB, o.web), ...(o.api ? [svc('api', API, o.api)] : [])] }));
}
const webOnly = (s: ServiceSet) => ({ set: s.services.filter((x) => x.name === 'web') });

export function describeDrift(name: string, o: DriftOptions): void {
  describe(`${name}: a long-lived ServiceProxy repairs drift (closed topology, real TCP)`, () => {
    let d: DriftTarget;
    let t: Topology;
    let proxy: ServiceProxy;
    let want: ServiceSet;
    const connect = (host: string, count: number, timeoutMs = 1000) => d.connect(host, count, timeoutMs);

    /** read() + apply(same set) on the original proxy; traffic and read-back prove the repair */
    async function repairAndCheck() {
      await proxy.read();
      const r = await proxy.apply(want);
      expect(r.plan.changes.added.length + r.plan.changes.changed.length).toBeGreaterThan(0);
      expect(await proxy.read()).toEqual(await proxy.desired(want));
      expect(landed(await connect(WEB, 30))).toEqual(['b0', 'b1']);
      const api = await connect(API, 10);
      expect(failures(api)).toEqual([]);
      expect(landed(api)).toEqual(['b2']);
    }

    beforeAll(async () => {
      d = await o.setup();
      t = d.topo;
      proxy = await d.open();
      want = services(t, { web: [0, 1], api: [2] });
      await proxy.apply(want);
      // update()s first: the proxy now runs on its incremental path (its memory of what it wrote)
      await proxy.update(webOnly(services(t, { web: [0] })));
      await proxy.update(webOnly(want));
      expect(landed(await connect(WEB, 30))).toEqual(['b0', 'b1']);
      expect(landed(await connect(API, 10))).toEqual(['b2']);
    });

    afterAll(async () => {
      try {
        await proxy?.cleanup();
        await proxy?.close();
      } finally {
        await d?.destroy();
      }
    });

    const deleteBehind = o.deleteBehind;
    if (deleteBehind) it('an object deleted by hand inside the namespace: read() sees it gone, the same proxy puts it back', async () => {
      await deleteBehind(d, API);
      expect(failures(await connect(API, 1, 500))).toEqual([`${API}:80 ETIMEDOUT`]);
      expect((await proxy.read()).filter((s) => s.clusterIP === API)).toEqual([]);
      await repairAndCheck();
    });

    it('a second ServiceProxy on the same namespace applies a different set: the original one restores its own', async () => {
      const other = await d.open();
      try {
        await other.apply(services(t, { web: [2] }));
      } finally {
        await other.close();
      }
      expect(landed(await connect(WEB, 10))).toEqual(['b2']);
      expect(failures(await connect(API, 1, 500))).toEqual([`${API}:80 ETIMEDOUT`]);
      await repairAndCheck();
    });

    it('with no drift, read() keeps the incremental path: the next update() changes only the touched service', async () => {
      await proxy.read();
      const r = await proxy.update(webOnly(services(t, { web: [1] })));
      expect(r.plan.changes.changed.length).toBe(1);
      o.incremental?.(r.stats);
      expect(landed(await connect(WEB, 20))).toEqual(['b1']);
      await proxy.update(webOnly(want));
      expect(landed(await connect(WEB, 30))).toEqual(['b0', 'b1']);
    });
  });
}
