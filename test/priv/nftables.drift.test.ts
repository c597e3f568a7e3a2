/**
 * A long-lived nftables ServiceProxy repairs drift: when what the kernel
 * holds changed behind its back (a map element deleted with `nft`, or a
 * second ServiceProxy's full sync swapping the table), read() + apply() of
 * the same set through the ORIGINAL proxy puts it back. Real TCP through the
 * VIPs in a closed topology; read() must equal the desired plan afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open, type ServiceProxy } from '../../src/api/proxy.js';
import { parseServices } from '../../src/model/load.js';
import type { ServiceSet } from '../../src/model/types.js';
import { Topology, type Attempt } from '../../src/sandbox/topology.js';

const WEB = '10.96.0.10';
const API = '10.96.0.20';

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

describe('nftables: a long-lived ServiceProxy repairs drift (closed topology, real TCP)', () => {
  let t: Topology;
  let proxy: ServiceProxy;
  let want: ServiceSet;

  const connect = (host: string, count: number, timeoutMs = 1000) => t.connect({ targets: [{ host, port: 80 }], count, timeoutMs });
  const nft = (...args: string[]) => t.exec(t.node, ['nft', ...args]);
  const liveTable = async () => ((await nft('list', 'tables')).includes('table ip svcproxy-b') ? 'svcproxy-b' : 'svcproxy');

  /** read() + apply(same set) on the original proxy; traffic and read-back prove the repair */
  async function repairAndCheck(expectAdded: number) {
    await proxy.read();
    const r = await proxy.apply(want);
    expect(r.plan.changes.added.length).toBe(expectAdded);
    expect(await proxy.read()).toEqual(await proxy.desired(want));
    expect(landed(await connect(WEB, 30))).toEqual(['b0', 'b1']);
    const api = await connect(API, 10);
    expect(failures(api)).toEqual([]);
    expect(landed(api)).toEqual(['b2']);
  }

  beforeAll(async () => {
    t = await Topology.create({ backends: 3 });
    proxy = await open({ mode: 'nftables', netns: t.node });
    want = services(t, { web: [0, 1], api: [2] });
    await proxy.apply(want);
    // an update() first: the proxy now runs on its incremental path (memory of what it wrote)
    await proxy.update({ set: services(t, { web: [0] }).services.filter((s) => s.name === 'web') });
    await proxy.update({ set: want.services.filter((s) => s.name === 'web') });
    expect(landed(await connect(WEB, 30))).toEqual(['b0', 'b1']);
    expect(landed(await connect(API, 10))).toEqual(['b2']);
  });

  afterAll(async () => {
    try {
      await proxy?.cleanup();
      await proxy?.close();
    } finally {
      await t?.destroy();
    }
  });

  it('a map element deleted with nft inside the namespace: read() sees it gone, the same proxy re-adds it', async () => {
    await nft('delete', 'element', 'ip', await liveTable(), 'service-ips', `{ ${API} . tcp . 80 }`);
    expect(failures(await connect(API, 1, 500))).toEqual([`${API}:80 ETIMEDOUT`]);
    expect((await proxy.read()).map((s) => s.clusterIP)).toEqual([WEB]);
    await repairAndCheck(1);
  });

  it('a second ServiceProxy on the same namespace applies a different set: the original one restores its own', async () => {
    const other = await open({ mode: 'nftables', netns: t.node });
    try {
      await other.apply(services(t, { web: [2] }));
    } finally {
      await other.close();
    }
    expect(landed(await connect(WEB, 10))).toEqual(['b2']);
    await repairAndCheck(1);
  });

  it('with no drift, read() keeps the incremental path: the next update() writes only the touched elements', async () => {
    await proxy.read();
    const r = await proxy.update({ set: services(t, { web: [1] }).services.filter((s) => s.name === 'web') });
    expect(r.stats?.detail).toMatchObject({ full: 0 });
    expect(landed(await connect(WEB, 20))).toEqual(['b1']);
    await proxy.update({ set: want.services.filter((s) => s.name === 'web') });
    expect(landed(await connect(WEB, 30))).toEqual(['b0', 'b1']);
  });
});
