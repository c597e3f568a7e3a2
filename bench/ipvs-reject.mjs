#!/usr/bin/env node
// Per-connect refusal time of a Service without endpoints in IPVS mode: 20
// TCP connects in a row (and 3 UDP exchanges) from the client namespace of a
// closed topology, p50/p99/max. Needs IPVS: run it inside User-Mode Linux,
// e.g. to compare a checkout with another in one boot:
//   node scripts/uml/run.mjs --memory 2G --timeout 600 -- "node bench/ipvs-reject.mjs /work/main/dist && node bench/ipvs-reject.mjs dist"
import { resolve } from 'node:path';

const dist = resolve(process.argv[2] ?? 'dist');
const { open } = await import(`${dist}/api/proxy.js`);
const { parseServices } = await import(`${dist}/model/load.js`);
const { Topology } = await import(`${dist}/sandbox/topology.js`);

const VIP = '10.96.0.12';
const set = parseServices(
  JSON.stringify({ services: [{ name: 'empty', namespace: 'bench', clusterIP: VIP, ports: [{ name: 'tcp', port: 80 }, { name: 'udp', port: 80, protocol: 'UDP' }] }] }),
  'bench.json',
);
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];

const topo = await Topology.create({ backends: 1 });
let proxy;
try {
  proxy = await open({ mode: 'ipvs', netns: topo.node, iptablesBackend: 'legacy' });
  await proxy.apply(set);
  for (const [proto, count] of [['TCP', 20], ['UDP', 3]]) {
    const a = await topo.connect({ targets: [{ host: VIP, port: 80, proto }], count, timeoutMs: 3000 });
    const ms = a.map((x) => x.ms);
    const errors = [...new Set(a.map((x) => x.error ?? 'connected'))].join(',');
    console.log(`${dist} ${proto} x${count}: ${errors} p50 ${pct(ms, 50).toFixed(1)} ms p99 ${pct(ms, 99).toFixed(1)} ms max ${Math.max(...ms).toFixed(1)} ms`);
  }
  await proxy.cleanup();
} finally {
  await proxy?.close();
  await topo.destroy();
}
