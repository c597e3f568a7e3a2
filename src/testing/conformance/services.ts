/** The service sets the conformance suite applies (concise format, parsed like user input). */
import { parseServices } from '../../model/load.js';
import type { ServiceSet } from '../../model/types.js';
import type { Target } from './target.js';

export const VIP = '10.96.0.10';
export const VIP_UDP = '10.96.0.11';
export const VIP_EMPTY = '10.96.0.12';
export const VIP_MULTI = '10.96.0.13';
export const VIP_LOCAL = '10.96.0.14';
export const VIP_ZONE = '10.96.0.15';
export const EXTERNAL_IP = '10.97.0.10';
/** the zone every conformance target's node is in (open({ nodeZone })) */
export const NODE_ZONE = 'zone-a';
export const NODE_PORT = 30080;
export const LOCAL_NODE_PORT = 30081;

export interface SetOptions {
  endpoints?: number;
  affinity?: boolean;
  nodePort?: boolean;
  externalIPs?: boolean;
}

const eps = (t: Target, n: number, extra: Record<string, unknown> = {}) =>
  t.backends.slice(0, n).map((b) => ({ address: b.address, ...extra }));

export function webSet(t: Target, o: SetOptions = {}): ServiceSet {
  const n = o.endpoints ?? t.backends.length;
  return parseServices(
    JSON.stringify({
      services: [
        {
          name: 'web',
          namespace: 'conformance',
          type: o.nodePort ? 'NodePort' : 'ClusterIP',
          clusterIP: VIP,
          externalIPs: o.externalIPs ? [EXTERNAL_IP] : [],
          ports: [{ name: 'http', port: 80, targetPort: 8080, ...(o.nodePort ? { nodePort: NODE_PORT } : {}) }],
          sessionAffinity: o.affinity ? 'ClientIP' : 'None',
          endpoints: eps(t, n),
        },
        {
          name: 'dns',
          namespace: 'conformance',
          clusterIP: VIP_UDP,
          ports: [{ name: 'dns', port: 53, targetPort: 8080, protocol: 'UDP' }],
          endpoints: eps(t, n),
        },
        {
          name: 'empty',
          namespace: 'conformance',
          clusterIP: VIP_EMPTY,
          ports: [
            { name: 'tcp', port: 80, protocol: 'TCP' },
            { name: 'udp', port: 80, protocol: 'UDP' },
          ],
        },
        {
          name: 'multi',
          namespace: 'conformance',
          clusterIP: VIP_MULTI,
          ports: [
            { name: 'a', port: 80, targetPort: 8080 },
            { name: 'b', port: 81, targetPort: 8081 },
          ],
          endpoints: eps(t, 2),
        },
      ],
    }),
    'conformance.json',
  );
}

/** externalTrafficPolicy Local: b0 is on this node, b1 on another. */
export function localPolicySet(t: Target): ServiceSet {
  return parseServices(
    JSON.stringify({
      services: [
        {
          name: 'local',
          namespace: 'conformance',
          type: 'NodePort',
          clusterIP: VIP_LOCAL,
          externalTrafficPolicy: 'Local',
          ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: LOCAL_NODE_PORT }],
          endpoints: [
            { address: t.backends[0]!.address, nodeName: t.nodeName },
            { address: t.backends[1]!.address, nodeName: 'some-other-node' },
          ],
        },
      ],
    }),
    'conformance.json',
  );
}

/** trafficDistribution PreferClose: b0 and b2 in this node's zone, b1 in another (hints derived from zones). */
export function zoneSet(t: Target): ServiceSet {
  const zones = [NODE_ZONE, 'zone-b', NODE_ZONE];
  return parseServices(
    JSON.stringify({
      services: [
        {
          name: 'zoned',
          namespace: 'conformance',
          clusterIP: VIP_ZONE,
          trafficDistribution: 'PreferClose',
          ports: [{ name: 'http', port: 80, targetPort: 8080 }],
          endpoints: t.backends.map((b, i) => ({ address: b.address, zone: zones[i] })),
        },
      ],
    }),
    'conformance.json',
  );
}

/** Hostile or malformed inputs: each must be refused naming its field. */
export const BAD_INPUTS: { what: string; text: string; field: RegExp }[] = [
  { what: 'a bad IP', text: 'services: [{name: a, clusterIP: 10.96.0.300, ports: [{port: 80}]}]', field: /services\[0\]\.clusterIP/ },
  { what: 'a port out of range', text: 'services: [{name: a, clusterIP: 10.96.0.20, ports: [{port: 70000}]}]', field: /services\[0\]\.ports\[0\]\.port/ },
  {
    what: 'a duplicate service',
    text: 'services: [{name: a, clusterIP: 10.96.0.20, ports: [{port: 80}]}, {name: a, clusterIP: 10.96.0.21, ports: [{port: 80}]}]',
    field: /services\[1\]/,
  },
  { what: 'a name with a newline', text: 'services: [{name: "a\\n-A INPUT -j DROP", clusterIP: 10.96.0.20, ports: [{port: 80}]}]', field: /services\[0\]\.name/ },
  { what: 'a name with quotes', text: `services: [{name: 'a" -j DROP', clusterIP: 10.96.0.20, ports: [{port: 80}]}]`, field: /services\[0\]\.name/ },
  {
    what: 'a port name with a space',
    text: 'services: [{name: a, clusterIP: 10.96.0.20, ports: [{name: "x y", port: 80}]}]',
    field: /services\[0\]\.ports\[0\]\.name/,
  },
  {
    what: 'an IPv6 address in an IPv4 EndpointSlice',
    text: `{apiVersion: v1, kind: List, items: [
      {apiVersion: v1, kind: Service, metadata: {name: a, namespace: d}, spec: {clusterIP: 10.96.0.20, ports: [{port: 80}]}},
      {apiVersion: discovery.k8s.io/v1, kind: EndpointSlice, metadata: {name: a-1, namespace: d, labels: {kubernetes.io/service-name: a}},
       addressType: IPv4, endpoints: [{addresses: ["fd00::1"]}], ports: [{port: 80}]}]}`,
    field: /items\[1\]\.endpoints\[0\]\.addresses\[0\]: must be an IPv4 address/,
  },
  {
    what: 'ipFamilies not matching clusterIPs',
    text: `{apiVersion: v1, kind: List, items: [
      {apiVersion: v1, kind: Service, metadata: {name: a, namespace: d},
       spec: {clusterIPs: [10.96.0.20, "fd00:96::20"], ipFamilies: [IPv6, IPv4], ports: [{port: 80}]}}]}`,
    field: /items\[0\]\.spec\.ipFamilies\[0\]: must match the family of clusterIPs\[0\]/,
  },
];
