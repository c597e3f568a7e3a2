/**
 * Topology-aware routing (plan/topology.ts) against cases modelled on
 * kube-proxy's TestCategorizeEndpoints (pkg/proxy/topology_test.go), run
 * through flatten() so the Local policies interact as they do in a sync.
 */
import { describe, expect, it } from 'vitest';
import { SvcproxyError } from '../../src/errors.js';
import { parseServices } from '../../src/model/load.js';
import type { Endpoint, Service } from '../../src/model/types.js';
import { flatten } from '../../src/plan/flatten.js';

interface Ep {
  ip: string;
  zones?: string[];
  nodes?: string[];
  ready?: boolean;
  terminating?: boolean;
  node?: string;
}

const ep = (e: Ep): Endpoint => ({
  address: e.ip,
  ports: { '': 80 },
  ready: e.ready ?? true,
  serving: e.ready ?? true ? true : (e.terminating ?? false),
  terminating: e.terminating ?? false,
  nodeName: e.node ?? 'other',
  ...(e.zones || e.nodes ? { hints: { forZones: e.zones ?? [], forNodes: e.nodes ?? [] } } : {}),
});

function svc(eps: Ep[], extra: Partial<Service> = {}): Service {
  return {
    namespace: 'ns', name: 's', type: 'NodePort', clusterIPs: ['10.96.0.1'], externalIPs: [], loadBalancerIPs: [],
    ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 80, nodePort: 30080 }],
    sessionAffinity: 'None', sessionAffinityTimeoutSeconds: 10800,
    externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster', endpoints: eps.map(ep), ...extra,
  };
}

function route(s: Service, node: { nodeName?: string; nodeZone?: string }) {
  const [state] = flatten([s], { families: [4], ...node });
  return { internal: state!.internal.map((b) => b.address), external: state!.external.map((b) => b.address) };
}

const here = { nodeName: 'node-1', nodeZone: 'zone-a' };
const fourZoned: Ep[] = [
  { ip: '10.1.2.3', zones: ['zone-a'] },
  { ip: '10.1.2.4', zones: ['zone-b'] },
  { ip: '10.1.2.5', zones: ['zone-c'] },
  { ip: '10.1.2.6', zones: ['zone-a'] },
];

describe('topology hints (kube-proxy CategorizeEndpoints)', () => {
  it('hints enabled: zone hints used', () => {
    expect(route(svc(fourZoned), here).internal).toEqual(['10.1.2.3', '10.1.2.6']);
  });

  it('empty node labels: no zone, hints ignored', () => {
    expect(route(svc(fourZoned), { nodeName: 'node-1' }).internal).toHaveLength(4);
  });

  it('node in a zone no endpoint is hinted for: no filtering', () => {
    expect(route(svc(fourZoned), { ...here, nodeZone: 'zone-d' }).internal).toHaveLength(4);
  });

  it('missing hints on one ready endpoint: no filtering', () => {
    const eps = [...fourZoned.slice(0, 3), { ip: '10.1.2.6' }];
    expect(route(svc(eps), here).internal).toHaveLength(4);
  });

  it('an unready endpoint without hints does not disable hints', () => {
    const eps = [...fourZoned, { ip: '10.1.2.7', ready: false }];
    expect(route(svc(eps), here).internal).toEqual(['10.1.2.3', '10.1.2.6']);
  });

  it('multiple zone hints per endpoint', () => {
    const eps = [{ ip: '10.1.2.3', zones: ['zone-b', 'zone-a'] }, { ip: '10.1.2.4', zones: ['zone-b'] }];
    expect(route(svc(eps), here).internal).toEqual(['10.1.2.3']);
  });

  it('PreferSameNode: node hints used when every ready endpoint has one and one is for this node', () => {
    const eps = [
      { ip: '10.1.2.3', zones: ['zone-a'], nodes: ['node-1'] },
      { ip: '10.1.2.4', zones: ['zone-a'], nodes: ['node-2'] },
      { ip: '10.1.2.5', zones: ['zone-b'], nodes: ['node-3'] },
    ];
    expect(route(svc(eps), here).internal).toEqual(['10.1.2.3']);
  });

  it('PreferSameNode: no endpoint for this node falls back to zone hints', () => {
    const eps = [
      { ip: '10.1.2.3', zones: ['zone-a'], nodes: ['node-2'] },
      { ip: '10.1.2.4', zones: ['zone-a'], nodes: ['node-2'] },
      { ip: '10.1.2.5', zones: ['zone-b'], nodes: ['node-3'] },
    ];
    expect(route(svc(eps), here).internal).toEqual(['10.1.2.3', '10.1.2.4']);
  });

  it('PreferSameNode: an endpoint without a node hint falls back to zone hints', () => {
    const eps = [
      { ip: '10.1.2.3', zones: ['zone-a'], nodes: ['node-1'] },
      { ip: '10.1.2.4', zones: ['zone-a'] },
      { ip: '10.1.2.5', zones: ['zone-b'], nodes: ['node-3'] },
    ];
    expect(route(svc(eps), here).internal).toEqual(['10.1.2.3', '10.1.2.4']);
  });

  it('no ready endpoints: serving terminating fallback ignores topology', () => {
    const eps = fourZoned.map((e) => ({ ...e, ready: false, terminating: true }));
    expect(route(svc(eps), here).internal).toHaveLength(4);
  });

  it('externalTrafficPolicy Local: topology ignored for local endpoints, used for cluster traffic', () => {
    const eps = [{ ...fourZoned[1]!, node: 'node-1' }, ...fourZoned.filter((_, i) => i !== 1)];
    const r = route(svc(eps, { externalTrafficPolicy: 'Local' }), here);
    expect(r.internal).toEqual(['10.1.2.3', '10.1.2.6']);
    expect(r.external).toEqual(['10.1.2.4']);
  });

  it('internalTrafficPolicy Local: topology ignored', () => {
    const eps = [{ ...fourZoned[1]!, node: 'node-1' }, ...fourZoned.filter((_, i) => i !== 1)];
    const r = route(svc(eps, { internalTrafficPolicy: 'Local' }), here);
    expect(r.internal).toEqual(['10.1.2.4']);
    expect(r.external).toEqual(['10.1.2.3', '10.1.2.6']);
  });
});

const slice = (hints: string) => `
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata: { name: web, namespace: shop }
    spec: { clusterIP: 10.96.0.10, trafficDistribution: PreferClose, ports: [{ port: 80 }] }
  - apiVersion: discovery.k8s.io/v1
    kind: EndpointSlice
    metadata: { name: web-1, namespace: shop, labels: { kubernetes.io/service-name: web } }
    addressType: IPv4
    ports: [{ name: "", port: 8080 }]
    endpoints:
      - { addresses: [10.244.0.1], zone: zone-a, ${hints} }
`;

describe('model: trafficDistribution and hints', () => {
  it('Kubernetes input: hints.forZones / forNodes become endpoint hints', () => {
    const set = parseServices(slice('hints: { forZones: [{ name: zone-a }], forNodes: [{ name: node-1 }] }'), 'in.yaml');
    expect(set.services[0]!.trafficDistribution).toBe('PreferClose');
    expect(set.services[0]!.endpoints[0]!.hints).toEqual({ forZones: ['zone-a'], forNodes: ['node-1'] });
  });

  it('Kubernetes input: no hints derived from trafficDistribution (kube-proxy reads only hints)', () => {
    expect(parseServices(slice('nodeName: node-1'), 'in.yaml').services[0]!.endpoints[0]!.hints).toBeUndefined();
  });

  it('a bad trafficDistribution is EINVAL naming the field', () => {
    let err: unknown;
    try {
      parseServices(slice('nodeName: n').replace('PreferClose', 'Nearest'), 'in.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SvcproxyError);
    expect((err as SvcproxyError).code).toBe('EINVAL');
    expect((err as SvcproxyError).message).toContain('trafficDistribution');
  });

  it('concise input: trafficDistribution derives hints like the EndpointSlice controller', () => {
    const text = `
services:
  - name: a
    clusterIP: 10.96.0.1
    trafficDistribution: PreferSameNode
    ports: [{ port: 80 }]
    endpoints:
      - { address: 10.1.0.1, zone: zone-a, nodeName: node-1 }
      - { address: 10.1.0.2 }
      - { address: 10.1.0.3, zone: zone-b, hints: { forZones: [zone-a] } }
`;
    const eps = parseServices(text, 'c.yaml').services[0]!.endpoints;
    expect(eps.map((e) => e.hints)).toEqual([{ forZones: ['zone-a'], forNodes: ['node-1'] }, undefined, { forZones: ['zone-a'] }]);
  });
});
