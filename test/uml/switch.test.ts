/**
 * Live switches between the modes of the IPVS kernel (iptables-legacy and
 * IPVS) under load: zero failed or slow connects, zero established
 * connections broken or stalled.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open, type ServiceProxy } from '../../src/api/proxy.js';
import type { Mode } from '../../src/dataplanes/types.js';
import { parseServices } from '../../src/model/load.js';
import { Topology } from '../../src/sandbox/topology.js';

const VIP = '10.96.5.10';
const ROUTE: Mode[] = ['ipvs', 'iptables', 'ipvs', 'iptables'];

describe('switchMode under load (IPVS kernel)', () => {
  let t: Topology;
  let proxy: ServiceProxy;
  beforeAll(async () => {
    t = await Topology.create({ backends: 3 });
    proxy = await open({ mode: 'iptables', netns: t.node, iptablesBackend: 'legacy' });
  });
  afterAll(async () => {
    try {
      await proxy?.cleanup();
    } finally {
      await t?.destroy();
    }
  });

  it('loses no connection switching iptables <-> ipvs', async () => {
    const set = parseServices(
      JSON.stringify({
        services: [{ name: 'web', clusterIP: VIP, ports: [{ port: 80, targetPort: 8080 }], endpoints: t.backends.map((b) => ({ address: b.addresses[0] })) }],
      }),
    );
    await proxy.apply(set);
    const load = await t.startLoad({ targets: [{ host: VIP, port: 80 }], rate: 10, longLived: 4, maxMs: 240_000, stallMs: 3000 });
    const pause = () => new Promise((r) => setTimeout(r, 1500));
    const seen: string[] = [proxy.mode];
    let report;
    try {
      await pause();
      for (const mode of ROUTE) {
        await proxy.switchMode(mode, { drainTimeoutMs: 10_000 });
        seen.push(proxy.mode);
        await pause();
      }
    } finally {
      report = await load.stop();
    }
    expect(seen).toEqual(['iptables', ...ROUTE]);
    expect(report.errors).toEqual({});
    expect(report.failed).toBe(0);
    expect(report.slow).toBe(0);
    expect(report.longLived).toBe(4);
    expect(report.broken).toBe(0);
    expect(report.stalled).toBe(0);
    expect(Object.keys(report.backends).sort()).toEqual(['b0', 'b1', 'b2']);
    expect((await proxy.read()).map((s) => s.clusterIP)).toEqual([VIP]);
  });
});
