/**
 * Which healthCheckNodePorts this node serves, and with what count, as
 * kube-proxy derives them: a Service needs a health check when it is a
 * LoadBalancer with externalTrafficPolicy Local and a healthCheckNodePort
 * (apiservice.NeedsHealthCheck); its count is the number of distinct
 * addresses of ready endpoints on this node (EndpointsMap.LocalReadyEndpoints:
 * terminating-only nodes fail the probe, an address with two ports counts once).
 * Fed per Service as the tracker builds it, so a sync costs nothing per
 * Service without a health check.
 */
import type { Service } from '../model/types.js';
import type { HealthCheckInfo } from './healthcheck.js';

interface Needed {
  port: number;
  info: HealthCheckInfo;
}

export class HealthCheckPorts {
  /** service key -> its health check, for the Services that need one */
  private readonly byService = new Map<string, Needed>();

  constructor(private readonly nodeName: string) {}

  /** The tracker built this Service (undefined: it is gone, ignored or invalid). */
  built(key: string, svc: Service | undefined): void {
    if (svc?.healthCheckNodePort === undefined || !needsHealthCheck(svc)) {
      this.byService.delete(key);
      return;
    }
    const info = { namespace: svc.namespace, name: svc.name, localEndpoints: localReadyEndpoints(svc, this.nodeName) };
    this.byService.set(key, { port: svc.healthCheckNodePort, info });
  }

  /** port -> what its server answers (two Services on one port: the first wins, as the API server forbids it anyway) */
  ports(): Map<number, HealthCheckInfo> {
    const out = new Map<number, HealthCheckInfo>();
    for (const { port, info } of this.byService.values()) if (!out.has(port)) out.set(port, info);
    return out;
  }
}

export function needsHealthCheck(svc: Service): boolean {
  return svc.type === 'LoadBalancer' && svc.externalTrafficPolicy === 'Local';
}

export function localReadyEndpoints(svc: Service, nodeName: string): number {
  const addresses = new Set<string>();
  for (const ep of svc.endpoints) if (ep.ready && ep.nodeName === nodeName) addresses.add(ep.address);
  return addresses.size;
}
