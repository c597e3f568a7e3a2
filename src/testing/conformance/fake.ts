/** A conformance Target backed by the in-memory FakeDataplane. */
import { ServiceProxy } from '../../api/proxy.js';
import { FakeDataplane } from '../../dataplanes/fake/index.js';
import type { Attempt, ClientTarget } from '../../sandbox/topology.js';
import { NODE_ZONE } from './services.js';
import type { Target } from './target.js';

export async function fakeTarget(): Promise<Target> {
  const nodeIP = '10.250.0.1';
  const nodeIP6 = 'fd00:250::1';
  const dp = new FakeDataplane({ nodeAddresses: [nodeIP, '10.244.0.1', nodeIP6] });
  const proxy = new ServiceProxy(dp, { nodeName: 'fake-node', nodeZone: NODE_ZONE });
  const backends = [0, 1, 2].map((i) => ({ name: `b${i}`, address: `10.244.0.${10 + i}`, address6: `fd00:244::${10 + i}` }));
  const clientIP = '10.250.0.2';
  const clientIP6 = 'fd00:250::2';
  const connectFrom = async (source: string, targets: ClientTarget[], count: number): Promise<Attempt[]> => {
    const out: Attempt[] = [];
    for (const tg of targets) {
      for (let i = 0; i < count; i++) {
        const v6 = tg.host.includes(':');
        const c = dp.connect(v6 ? clientIP6 : source, tg.host, tg.port, tg.proto ?? 'TCP');
        const b = c.backend ? backends.find((x) => x.address === c.backend!.address || x.address6 === c.backend!.address) : undefined;
        out.push({
          host: tg.host,
          port: tg.port,
          proto: tg.proto ?? 'TCP',
          ok: !!b,
          backend: b?.name,
          local: c.backend ? (v6 ? `[${c.backend.address}]:${c.backend.port}` : `${c.backend.address}:${c.backend.port}`) : undefined,
          peer: c.peer ? `${c.peer}:40000` : undefined,
          error: c.error,
          ms: 0,
        });
      }
    }
    return out;
  };
  return {
    proxy,
    backends: backends.map((b) => ({ name: b.name, address: b.address })),
    ipv6: { backends: backends.map((b) => b.address6), nodeIP: nodeIP6, clientIP: clientIP6 },
    nodeIP,
    clientIP,
    nodeName: 'fake-node',
    connect: (targets, count) => connectFrom(clientIP, targets, count),
    connectFromBackend: (i, targets, count) => connectFrom(backends[i]!.address, targets, count),
    snapshot: async () => JSON.stringify({ state: await dp.read(), foreign: [...dp.foreign] }),
    placeForeign: async () => void dp.foreign.add('foreign-chain'),
    foreignIntact: async () => dp.foreign.has('foreign-chain'),
    ownedLeft: async () => (await dp.read()).map((s) => s.key),
    destroy: async () => {},
  };
}
