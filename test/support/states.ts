/**
 * ServicePortState fixtures for tests and bench scripts that drive a
 * dataplane directly (below the model and flatten()). Defaults: a TCP
 * ClusterIP port 80 in namespace "ns", IPv4, endpoints ready, external list
 * = internal; the key is derived from the fields like flatten() does.
 */
import type { Backend, ServicePortState } from '../../src/plan/types.js';

export type PortFields = Partial<ServicePortState> & { name: string; clusterIP: string };

export function portState(o: PortFields, endpoints: Backend[] = []): ServicePortState {
  const s: ServicePortState = {
    key: '',
    namespace: 'ns',
    portName: '',
    protocol: 'TCP',
    family: 4,
    port: 80,
    nodePort: null,
    externalIPs: [],
    loadBalancerIPs: [],
    affinitySeconds: null,
    externalLocal: false,
    internal: endpoints,
    external: o.internal ?? endpoints,
    hasEndpoints: (o.internal ?? endpoints).length > 0,
    ...o,
  };
  if (!o.key) s.key = `${s.namespace}/${s.name}:${s.portName}/${s.protocol}@${s.family}`;
  return s;
}

/** n endpoints 10.244.0.<base>.. on port 8080 */
export const endpointList = (n: number, base = 10, port = 8080): Backend[] =>
  Array.from({ length: n }, (_, i) => ({ address: `10.244.0.${base + i}`, port }));

/**
 * n ClusterIP ports x `endpoints` distinct backends each (a scale set:
 * 10.96.0.0/16 VIPs, backends from 10.128.0.0/9), sorted by key.
 */
export function scaleStates(n: number, endpoints: number, namespace = 'bench'): ServicePortState[] {
  const out: ServicePortState[] = [];
  for (let i = 0; i < n; i++) {
    const backends = Array.from({ length: endpoints }, (_, j) => ({ address: `10.${128 + (i >> 14)}.${(i >> 6) & 0xff}.${((i & 63) << 2) + j}`, port: 8080 }));
    out.push(portState({ namespace, name: `svc-${i}`, portName: 'http', clusterIP: `10.96.${i >> 8}.${i & 0xff}` }, backends));
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : 1));
}
