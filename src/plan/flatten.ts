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
import { isIP } from 'node:net';
import type { Endpoint, Service } from '../model/types.js';
import type { Backend, Family, ServicePortState } from './types.js';

export interface FlattenOptions {
  /** the node svcproxy runs on, for Local traffic policies */
  nodeName?: string;
  /** IP families the dataplane programs */
  families: Family[];
}

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
        const cluster = usable(withPort);
        const local = usable(withPort.filter((e) => isLocal(e, opts.nodeName)));
        const externalLocal = svc.externalTrafficPolicy === 'Local' && (svc.type !== 'ClusterIP' || svc.externalIPs.length > 0);
        const internalLocal = svc.internalTrafficPolicy === 'Local';
        const externalIPs = svc.externalIPs.filter(sameFamily).sort();
        const loadBalancerIPs = svc.loadBalancerIPs.filter(sameFamily).sort();
        const externalFrontends = port.nodePort !== undefined || externalIPs.length + loadBalancerIPs.length > 0;
        const backends = (list: Endpoint[]) => sortBackends(list.map((e) => ({ address: e.address, port: e.ports[port.name]! })));
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
          internal: backends(internalLocal ? local : cluster),
          // Without node ports or external IPs nothing receives external traffic.
          external: externalFrontends ? backends(externalLocal ? local : cluster) : [],
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
  const seen = new Set<string>();
  return list
    .filter((b) => {
      const k = `${b.address}:${b.port}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort((a, b) => compareAddr(a.address, b.address) || a.port - b.port);
}

function compareAddr(a: string, b: string): number {
  if (isIP(a) === 4 && isIP(b) === 4) {
    const n = (s: string) => s.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
    return n(a) - n(b);
  }
  return a < b ? -1 : a > b ? 1 : 0;
}
