/**
 * The API-server stand-in (test/support/apiserver.ts) in its own process for
 * bench/agent-scale.ts, so the agent's RSS is measured without the stand-in's
 * objects. Driven over the IPC channel:
 *   { op: 'populate', services, endpoints } -> { op: 'ready', url, populateMs }
 *   { op: 'modify', index, round }          -> { op: 'written', at }  (one endpoint's address changed)
 *   { op: 'close' }                         -> exits
 * `at` is wall-clock ms (performance.timeOrigin + now), comparable across processes.
 */
import { ApiServerStandIn, SERVICES, SLICES } from '../test/support/apiserver.js';

const NAMESPACE = 'bench';

type Msg = { op: 'populate'; services: number; endpoints: number } | { op: 'modify'; index: number; round: number } | { op: 'close' };

/** Pod address j of Service i in 10.128.0.0/9 (as test/support/states.ts scaleStates). */
const podIP = (i: number, j: number) => `10.${128 + (i >> 14)}.${(i >> 6) & 0xff}.${((i & 63) << 2) + j}`;

export function service(i: number) {
  const clusterIP = `10.96.${i >> 8}.${i & 0xff}`;
  return {
    metadata: { name: `svc-${i}`, namespace: NAMESPACE, uid: `svc-uid-${i}` },
    spec: {
      type: 'ClusterIP',
      clusterIP,
      clusterIPs: [clusterIP],
      ipFamilies: ['IPv4'],
      ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
      sessionAffinity: 'None',
    },
  };
}

export function slice(i: number, addresses: string[]) {
  return {
    metadata: { name: `svc-${i}-abcde`, namespace: NAMESPACE, uid: `slice-uid-${i}`, labels: { 'kubernetes.io/service-name': `svc-${i}` } },
    addressType: 'IPv4',
    endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node-1' })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

const api = new ApiServerStandIn();
let endpoints = 4;

async function handle(m: Msg): Promise<void> {
  if (m.op === 'populate') {
    endpoints = m.endpoints;
    const t0 = performance.now();
    for (let i = 0; i < m.services; i++) {
      api.upsert(SERVICES, service(i));
      api.upsert(SLICES, slice(i, Array.from({ length: endpoints }, (_, j) => podIP(i, j))));
    }
    api.compact(); // a cluster's history does not reach back to its creation
    const url = await api.listen();
    process.send!({ op: 'ready', url, populateMs: performance.now() - t0 });
  } else if (m.op === 'modify') {
    // one endpoint moves to a fresh address (a pod replaced), the others stay
    const addresses = Array.from({ length: endpoints }, (_, j) => podIP(m.index, j));
    addresses[m.round % endpoints] = `10.255.${(m.round >> 8) & 0xff}.${m.round & 0xff}`;
    const at = performance.timeOrigin + performance.now();
    api.upsert(SLICES, slice(m.index, addresses));
    process.send!({ op: 'written', at });
  } else {
    await api.close();
    process.exit(0);
  }
}

process.on('message', (m: Msg) => void handle(m));
process.on('disconnect', () => process.exit(0));
