/**
 * IPVS mode with real traffic (UML kernel), what kube-proxy fixed in its IPVS mode:
 * - the IPVS filter (#72236): a host service on 0.0.0.0 does not answer on
 *   ClusterIP:<its port>, only on the node's own address;
 * - UDP real servers are deleted at once when their endpoint goes (#77802),
 *   while TCP ones with connections still drain at weight 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open, type ServiceProxy } from '../../src/api/proxy.js';
import { parseServices } from '../../src/model/load.js';
import { NODE_IP, Topology, program } from '../../src/sandbox/topology.js';

const VIP = '10.96.1.10';
/** where the host's own service listens in the node namespace (no Service defines it) */
const HOST_PORT = 9090;

let topo: Topology;
let proxy: ServiceProxy;

const services = (endpoints: string[]) =>
  parseServices(
    JSON.stringify({
      services: [
        {
          name: 'mixed',
          namespace: 'filter',
          clusterIP: VIP,
          ports: [
            { name: 'tcp', port: 80, targetPort: 8080, protocol: 'TCP' },
            { name: 'udp', port: 53, targetPort: 8080, protocol: 'UDP' },
          ],
          endpoints: endpoints.map((address) => ({ address })),
        },
      ],
    }),
    'filter.json',
  );

/** "TCP 10.244.0.11:8080 w0" per real server of the VIP, from ipvsadm */
async function realServers(): Promise<string[]> {
  const out = await topo.exec(topo.node, ['ipvsadm', '-Ln']);
  const rows: string[] = [];
  let proto = '';
  for (const line of out.split('\n')) {
    const vs = /^(TCP|UDP)\s+(\S+)/.exec(line);
    if (vs) proto = vs[2]!.startsWith(`${VIP}:`) ? vs[1]! : '';
    const rs = /^\s+->\s+(\d+\.\d+\.\d+\.\d+:\d+)\s+\S+\s+(\d+)/.exec(line);
    if (rs && proto) rows.push(`${proto} ${rs[1]} w${rs[2]}`);
  }
  return rows.sort();
}

/** The echo server as a host service of the node namespace (0.0.0.0:HOST_PORT); resolves once it listens. */
function startHostService(): Promise<void> {
  const child = topo.spawnIn(topo.node, [process.execPath, program('echo-server'), 'host', String(HOST_PORT), '']);
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => String(d).includes('ready') && resolve());
    child.on('exit', (code) => reject(new Error(`host service exited (${code}): ${err}`)));
  });
}

beforeAll(async () => {
  topo = await Topology.create({ backends: 2, tcpPorts: [8080], udpPorts: [8080] });
  proxy = await open({ mode: 'ipvs', netns: topo.node, iptablesBackend: 'legacy' });
});

afterAll(async () => {
  try {
    await proxy?.cleanup();
    await proxy?.close();
  } finally {
    await topo?.destroy();
  }
});

describe('ipvs filter and real server removal (UML kernel)', () => {
  it('a host service on 0.0.0.0 does not answer on ClusterIP:<its port> (refused at once), but does on the node address', async () => {
    await startHostService();
    await proxy.apply(services(topo.backends.map((b) => b.addresses[0]!)));
    const viaVIP = await topo.connect({ targets: [{ host: VIP, port: HOST_PORT }], count: 5, timeoutMs: 3000 });
    expect(viaVIP.map((a) => `${a.error ?? `connected to ${a.backend}`}${a.ms < 100 ? '' : ' (slow)'}`)).toEqual(viaVIP.map(() => 'ECONNREFUSED'));
    const viaNode = await topo.connect({ targets: [{ host: NODE_IP, port: HOST_PORT }], count: 3 });
    expect(viaNode.map((a) => a.backend ?? a.error)).toEqual(['host', 'host', 'host']);
    // the defined ports still forward through the same VIP
    const defined = await topo.connect({ targets: [{ host: VIP, port: 80 }, { host: VIP, port: 53, proto: 'UDP' }], count: 2 });
    expect(defined.filter((a) => !a.ok)).toEqual([]);
  });

  it('a removed endpoint: its UDP real server is deleted at once, its TCP one (with a connection) drains at weight 0', async () => {
    const [b0, b1] = topo.backends.map((b) => b.addresses[0]!);
    await proxy.apply(services([b0!, b1!]));
    // one TCP connection and one UDP flow to each endpoint, so both have IPVS connection entries
    const used = await topo.connect({ targets: [{ host: VIP, port: 80 }, { host: VIP, port: 53, proto: 'UDP' }], count: 4 });
    expect(used.filter((a) => !a.ok)).toEqual([]);
    expect(new Set(used.map((a) => `${a.proto} ${a.backend}`)).size).toBe(4);
    await proxy.apply(services([b0!]));
    expect(await realServers()).toEqual([`TCP ${b0}:8080 w1`, `TCP ${b1}:8080 w0`, `UDP ${b0}:8080 w1`]);
    // new UDP traffic goes to the remaining endpoint only
    const after = await topo.connect({ targets: [{ host: VIP, port: 53, proto: 'UDP' }], count: 4 });
    expect(after.map((a) => a.backend)).toEqual(after.map(() => topo.backends[0]!.name));
  });
});
