/**
 * The healthCheckNodePort map as kube-proxy derives it, fed by the tracker:
 * only LoadBalancer + externalTrafficPolicy Local Services with a
 * healthCheckNodePort; the count is distinct addresses of ready endpoints on
 * this node (two ports of one address count once; not-ready, terminating and
 * other nodes' endpoints do not count); a deleted Service drops its port.
 */
import { describe, expect, it } from 'vitest';
import { HealthCheckPorts } from '../../src/agent/hcports.js';
import { ChangeTracker } from '../../src/agent/tracker.js';

const NODE = 'node-a';
const PORTS = [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', nodePort: 30080 }, { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP', nodePort: 30443 }];

const svc = (name: string, ip: string, spec: Record<string, unknown>) => ({
  metadata: { name, namespace: 'shop' },
  spec: { type: 'LoadBalancer', clusterIP: ip, ports: PORTS, externalTrafficPolicy: 'Local', ...spec },
});

interface Ep { ip: string; node?: string; ready?: boolean; terminating?: boolean }
const slice = (name: string, service: string, eps: Ep[]) => ({
  metadata: { name, namespace: 'shop', labels: { 'kubernetes.io/service-name': service } },
  addressType: 'IPv4',
  endpoints: eps.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready ?? true, serving: true, terminating: e.terminating ?? false }, ...(e.node ? { nodeName: e.node } : {}) })),
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'https', port: 8443, protocol: 'TCP' }],
});

function setup() {
  const hc = new HealthCheckPorts(NODE);
  const t = new ChangeTracker({ onBuilt: (key, s) => hc.built(key, s), onInvalid: (key, e) => { throw new Error(`${key}: ${e.message}`); } });
  return { hc, t };
}

describe('HealthCheckPorts (fed by the tracker)', () => {
  it('counts distinct ready local addresses of LoadBalancer/Local Services only', () => {
    const { hc, t } = setup();
    t.setService(svc('web', '10.96.0.1', { healthCheckNodePort: 32000 }));
    t.setSlice(slice('web-1', 'web', [
      { ip: '10.0.0.1', node: NODE },
      { ip: '10.0.0.2', node: NODE },
      { ip: '10.0.0.3', node: NODE, ready: false },
      { ip: '10.0.0.4', node: NODE, ready: false, terminating: true },
      { ip: '10.0.0.5', node: 'node-b' },
      { ip: '10.0.0.6' },
    ]));
    t.setService(svc('cluster', '10.96.0.2', { externalTrafficPolicy: 'Cluster', healthCheckNodePort: 32001 }));
    t.setService(svc('nodeport', '10.96.0.3', { type: 'NodePort', healthCheckNodePort: 32002 }));
    t.take();
    expect(hc.ports()).toEqual(new Map([[32000, { namespace: 'shop', name: 'web', localEndpoints: 2 }]]));
  });

  it('follows changes: endpoints moved away -> 0, back -> N, Service deleted -> no port; a full reconcile sees the same', () => {
    const { hc, t } = setup();
    t.setService(svc('web', '10.96.0.1', { healthCheckNodePort: 32000 }));
    t.setSlice(slice('web-1', 'web', [{ ip: '10.0.0.1', node: NODE }]));
    t.take();
    expect(hc.ports().get(32000)?.localEndpoints).toBe(1);
    t.setSlice(slice('web-1', 'web', [{ ip: '10.0.0.1', node: 'node-b' }]));
    t.take();
    expect(hc.ports().get(32000)?.localEndpoints).toBe(0);
    t.setSlice(slice('web-1', 'web', [{ ip: '10.0.0.1', node: NODE }, { ip: '10.0.0.9', node: NODE }]));
    t.all();
    expect(hc.ports().get(32000)?.localEndpoints).toBe(2);
    t.deleteService(svc('web', '10.96.0.1', {}));
    t.take();
    expect(hc.ports().size).toBe(0);
  });
});
