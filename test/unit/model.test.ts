import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SvcproxyError } from '../../src/errors.js';
import { parseServices } from '../../src/model/load.js';
import { BAD_INPUTS } from '../../src/testing/conformance/services.js';

const shop = readFileSync(new URL('../../examples/shop.yaml', import.meta.url), 'utf8');

function error(text: string, file = 'in.yaml'): SvcproxyError {
  try {
    parseServices(text, file);
  } catch (e) {
    if (e instanceof SvcproxyError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('Kubernetes List input', () => {
  it('joins Services with their EndpointSlices, resolving ports by name', () => {
    const set = parseServices(shop, 'shop.yaml');
    const web = set.services.find((s) => s.name === 'web')!;
    expect(web).toMatchObject({ namespace: 'shop', type: 'NodePort', clusterIPs: ['10.96.0.10'] });
    expect(web.ports).toEqual([{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }]);
    expect(web.endpoints.map((e) => [e.address, e.ports.http, e.ready])).toEqual([
      ['10.244.0.10', 8080, true],
      ['10.244.0.11', 8080, true],
      ['10.244.0.12', 8080, true],
    ]);
  });

  it('reads the same from kubectl -o json', () => {
    const json = JSON.stringify(parseYaml(shop));
    expect(parseServices(json, 'shop.json')).toEqual(parseServices(shop, 'shop.yaml'));
  });

  it('accepts quietly what kube-proxy ignores: headless, ExternalName, no cluster IP yet', () => {
    const set = parseServices(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { apiVersion: 'v1', kind: 'Service', metadata: { name: 'h', namespace: 'a' }, spec: { clusterIP: 'None', ports: [{ port: 80 }] } },
          { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x', namespace: 'a' }, spec: { type: 'ExternalName', externalName: 'example.org' } },
          { apiVersion: 'v1', kind: 'Service', metadata: { name: 'n', namespace: 'a' }, spec: { ports: [{ port: 80 }] } },
          { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'a' } },
        ],
      }),
    );
    expect(set.services).toEqual([]);
    expect(set.ignored.map((i) => i.name)).toEqual(['h', 'x', 'n']);
  });

  it('reads endpoint conditions, defaulting as the API does', () => {
    const set = parseServices(`
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: s, namespace: a}
  spec: {clusterIP: 10.96.0.1, ports: [{port: 80, targetPort: 8080}]}
- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata: {name: s-1, namespace: a, labels: {kubernetes.io/service-name: s}}
  addressType: IPv4
  endpoints:
  - addresses: [10.0.0.1]
  - addresses: [10.0.0.2]
    conditions: {ready: false, serving: true, terminating: true}
    nodeName: n1
  ports: [{port: 8080, protocol: TCP}]
`);
    expect(set.services[0]!.endpoints).toEqual([
      { address: '10.0.0.1', ports: { '': 8080 }, ready: true, serving: true, terminating: false, nodeName: undefined, zone: undefined },
      { address: '10.0.0.2', ports: { '': 8080 }, ready: false, serving: true, terminating: true, nodeName: 'n1', zone: undefined },
    ]);
  });

  it('names the API path of a bad field', () => {
    const bad = shop.replace('port: 80\n', 'port: 80000\n');
    expect(error(bad, 'shop.yaml').message).toBe('shop.yaml: items[0].spec.ports[0].port: must be a port number 1-65535, got 80000');
  });

  it('accepts a dual-stack Service whose ipFamilies match its clusterIPs, with an IPv6 slice', () => {
    const set = parseServices(`{apiVersion: v1, kind: List, items: [
      {apiVersion: v1, kind: Service, metadata: {name: s, namespace: a},
       spec: {clusterIPs: [10.96.0.1, "fd00:96::1"], ipFamilies: [IPv4, IPv6], ports: [{port: 80}]}},
      {apiVersion: discovery.k8s.io/v1, kind: EndpointSlice, metadata: {name: s-6, namespace: a, labels: {kubernetes.io/service-name: s}},
       addressType: IPv6, endpoints: [{addresses: ["fd00:244::1"]}], ports: [{port: 80}]}]}`);
    expect(set.services[0]!.clusterIPs).toEqual(['10.96.0.1', 'fd00:96::1']);
    expect(set.services[0]!.endpoints.map((e) => e.address)).toEqual(['fd00:244::1']);
  });

  it('refuses an EndpointSlice address that is not an IP', () => {
    const bad = shop.replace('[10.244.0.11]', '["10.244.0.11; rm -rf /"]');
    expect(error(bad).field).toBe('items[2].endpoints[1].addresses[0]');
  });
});

describe('concise input', () => {
  it('fills Kubernetes defaults', () => {
    const set = parseServices('services: [{name: a, clusterIP: 10.96.0.1, ports: [{port: 80}], endpoints: [{address: 10.0.0.1}]}]');
    expect(set.services[0]).toMatchObject({
      namespace: 'default',
      type: 'ClusterIP',
      sessionAffinity: 'None',
      externalTrafficPolicy: 'Cluster',
      ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 80 }],
      endpoints: [{ address: '10.0.0.1', ports: { '': 80 }, ready: true, serving: true, terminating: false }],
    });
  });

  it('reports unknown keys instead of ignoring a typo', () => {
    expect(error('services: [{name: a, clusterIp: 10.96.0.1, ports: [{port: 80}]}]').message).toBe(
      'in.yaml: services[0]: unknown field "clusterIp"',
    );
  });

  it('reports YAML syntax errors with their line', () => {
    expect(error('services: [{name: a\n  ports: [').message).toMatch(/^in\.yaml: line \d+ column \d+: /);
  });

  for (const bad of BAD_INPUTS) {
    it(`refuses ${bad.what} in one line naming the field`, () => {
      const e = error(bad.text, 'bad.yaml');
      expect(e.code).toBe('EINVAL');
      expect(e.message).toMatch(bad.field);
      expect(e.message).not.toContain('\n');
    });
  }

  it('refuses two services on the same VIP:port', () => {
    const e = error('services: [{name: a, clusterIP: 10.96.0.1, ports: [{port: 80}]}, {name: b, clusterIP: 10.96.0.1, ports: [{port: 80}]}]');
    expect(e.message).toBe('in.yaml: services[1].ports[0]: 10.96.0.1:80/TCP is already used by default/a');
  });

  it('requires names when a service has several ports', () => {
    expect(error('services: [{name: a, clusterIP: 10.96.0.1, ports: [{port: 80}, {port: 81}]}]').field).toBe('services[0].ports[0].name');
  });

  it('refuses a node port on a ClusterIP service', () => {
    expect(error('services: [{name: a, clusterIP: 10.96.0.1, ports: [{port: 80, nodePort: 30000}]}]').field).toBe('services[0].ports[0].nodePort');
  });
});
