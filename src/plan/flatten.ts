/**
 * Services -> ServicePortState[]: the endpoint policy kube-proxy applies
 * (pkg/proxy/topology.go CategorizeEndpoints), decided once for all modes.
 *
 * - usable endpoints are the ready ones; when none is ready, the serving
 *   terminating ones (so connections drain instead of failing);
 * - "local" means the endpoint's nodeName is this node; an endpoint without
 *   nodeName (concise format, no Kubernetes) counts as local;
 * - internal traffic uses local endpoints when internalTrafficPolicy is Local,
 *   external traffic when externalTrafficPolicy is Local.
 */
import { isIP as netIsIP } from 'node:net';
import type { Endpoint, Service } from '../model/types.js';
import type { Backend, Family, ServicePortState } from './types.js';
import { clusterEndpoints } from './topology.js';

export interface FlattenOptions {
  /** the node svcproxy runs on, for Local traffic policies */
  nodeName?: string;
  /** this node's topology.kubernetes.io/zone, for zone hints (plan/topology.ts) */
  nodeZone?: string;
  /** IP families the dataplane programs */
  families: Family[];
}

/** isIP with a fast path for dotted quads (validated on input already; this runs per endpoint). */
const DOTTED = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const isIP = (ip: string) => (DOTTED.test(ip) ? 4 : netIsIP(ip));

export function flatten(services: Service[], opts: FlattenOptions): ServicePortState[] {
  const out: ServicePortState[] = [];
  for (const svc of services) {
    for (const clusterIP of svc.clusterIPs) {
      const family = isIP(clusterIP) as Family;
      if (!opts.families.includes(family)) continue;
      const sameFamily = (ip: string) => isIP(ip) === family;
      const endpoints = svc.endpoints.filter((e) => sameFamily(e.address));
      for (const port of svc.ports) {
        const withPort = endpoints.filter((e) => e.ports[port.name] !== undefined);
        const cluster = clusterEndpoints(withPort, { nodeName: opts.nodeName, zone: opts.nodeZone });
        const externalLocal = svc.externalTrafficPolicy === 'Local' && (svc.type !== 'ClusterIP' || svc.externalIPs.length > 0);
        const internalLocal = svc.internalTrafficPolicy === 'Local';
        // Local endpoints matter only under a Local policy.
        const local = internalLocal || externalLocal ? usable(withPort.filter((e) => isLocal(e, opts.nodeName))) : cluster;
        const externalIPs = svc.externalIPs.filter(sameFamily).sort();
        const loadBalancerIPs = svc.loadBalancerIPs.filter(sameFamily).sort();
        const externalFrontends = port.nodePort !== undefined || externalIPs.length + loadBalancerIPs.length > 0;
        const backends = (list: Endpoint[]) => sortBackends(list.map((e) => ({ address: e.address, port: e.ports[port.name]! })));
        const internal = backends(internalLocal ? local : cluster);
        out.push({
          key: `${svc.namespace}/${svc.name}:${port.name}/${port.protocol}@${family}`,
          namespace: svc.namespace,
          name: svc.name,
          portName: port.name,
          protocol: port.protocol,
          family,
          clusterIP,
          port: port.port,
          nodePort: port.nodePort ?? null,
          externalIPs,
          loadBalancerIPs,
          affinitySeconds: svc.sessionAffinity === 'ClientIP' ? svc.sessionAffinityTimeoutSeconds : null,
          externalLocal,
          internal,
          // Without node ports or external IPs nothing receives external traffic.
          external: !externalFrontends ? [] : externalLocal === internalLocal ? internal : backends(externalLocal ? local : cluster),
          hasEndpoints: cluster.length > 0,
        });
      }
    }
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function usable(list: Endpoint[]): Endpoint[] {
  const ready = list.filter((e) => e.ready);
  return ready.length > 0 ? ready : list.filter((e) => e.serving && e.terminating);
}

const isLocal = (e: Endpoint, node?: string) => e.nodeName === undefined || e.nodeName === node;

export function sortBackends(list: Backend[]): Backend[] {
  if (list.length < 2) return list;
  const keyed = list.map((b) => ({ b, k: ipv4Number(b.address) }));
  keyed.sort((x, y) => x.k - y.k || (x.k === -1 && x.b.address !== y.b.address ? (x.b.address < y.b.address ? -1 : 1) : 0) || x.b.port - y.b.port);
  const out: Backend[] = [keyed[0]!.b];
  for (let i = 1; i < keyed.length; i++) {
    const b = keyed[i]!.b;
    const prev = out[out.length - 1]!;
    if (b.address !== prev.address || b.port !== prev.port) out.push(b);
  }
  return out;
}

/** An IPv4 address as a number (sorts numerically), -1 for anything else (sorted as text, first). */
function ipv4Number(a: string): number {
  let n = 0;
  let part = 0;
  let dots = 0;
  for (let i = 0; i < a.length; i++) {
    const c = a.charCodeAt(i);
    if (c === 46) {
      n = n * 256 + part;
      part = 0;
      dots++;
    } else if (c >= 48 && c <= 57) part = part * 10 + (c - 48);
    else return -1;
  }
  return dots === 3 ? n * 256 + part : -1;
}
