/**
 * The service sets the lab programs: N ClusterIP services x E endpoints,
 * built directly as model objects (30,000 services through the YAML parser
 * would measure the parser), plus one single-endpoint service for iperf3,
 * whose control and data connections must reach the same backend.
 */
import { DEFAULT_AFFINITY_TIMEOUT, type Endpoint, type Service, type ServiceSet } from '../model/types.js';

export const LAB_NAMESPACE = 'lab';
export const SERVICE_PORT = 80;
export const BACKEND_PORT = 8080;
export const IPERF_PORT = 5201;
export const IPERF_VIP = '10.97.0.1';
/** the most services the VIP range 10.96.0.0/16 below holds */
export const MAX_SERVICES = 65_000;

/** backend j's address in the sandbox topology (10.244.0.(10+j)) */
export const backendAddress = (j: number): string => `10.244.0.${10 + j}`;

/** service i's cluster IP: 10.96.0.0/16 from .1 on */
export function vipOf(i: number): string {
  const n = i + 1;
  return `10.96.${n >> 8}.${n & 255}`;
}

/** Names sort like their index, so service N-1 is last in every mode's ordering by key. */
export const serviceName = (i: number): string => `svc-${String(i).padStart(5, '0')}`;

function endpoint(address: string, port: number, ready = true): Endpoint {
  return { address, ports: { http: port }, ready, serving: ready, terminating: false };
}

function service(name: string, vip: string, port: number, endpoints: Endpoint[]): Service {
  return {
    namespace: LAB_NAMESPACE,
    name,
    type: 'ClusterIP',
    clusterIPs: [vip],
    externalIPs: [],
    loadBalancerIPs: [],
    ports: [{ name: 'http', protocol: 'TCP', port, targetPort: endpoints[0]?.ports.http ?? port }],
    sessionAffinity: 'None',
    sessionAffinityTimeoutSeconds: DEFAULT_AFFINITY_TIMEOUT,
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    endpoints,
  };
}

export function labServices(count: number, endpoints: number): Service[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_SERVICES) throw new Error(`services: must be 1..${MAX_SERVICES}, got ${count}`);
  if (!Number.isInteger(endpoints) || endpoints < 1 || endpoints > 200) throw new Error(`endpoints: must be 1..200, got ${endpoints}`);
  const eps = Array.from({ length: endpoints }, (_, j) => endpoint(backendAddress(j), BACKEND_PORT));
  const out: Service[] = [service('iperf3', IPERF_VIP, IPERF_PORT, [endpoint(backendAddress(0), IPERF_PORT)])];
  for (let i = 0; i < count; i++) out.push(service(serviceName(i), vipOf(i), SERVICE_PORT, eps));
  return out;
}

export const asSet = (services: Service[]): ServiceSet => ({ services, ignored: [] });

/**
 * The same set with the last service's last endpoint not ready (or ready
 * again): exactly one endpoint change. Other services are shared, not copied.
 */
export function withLastEndpointToggled(services: Service[], ready: boolean): Service[] {
  const copy = services.slice();
  const last = copy[copy.length - 1]!;
  const eps = last.endpoints.slice();
  const e = eps[eps.length - 1]!;
  eps[eps.length - 1] = { ...e, ready, serving: ready };
  copy[copy.length - 1] = { ...last, endpoints: eps };
  return copy;
}
