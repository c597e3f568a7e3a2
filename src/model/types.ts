/** The typed model: Kubernetes Service semantics, independent of any mode. */

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer';
export type TrafficPolicy = 'Cluster' | 'Local';
export type SessionAffinity = 'None' | 'ClientIP';

export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];
/** kube-proxy's default ClientIP affinity timeout (3 hours). */
export const DEFAULT_AFFINITY_TIMEOUT = 10800;

export interface ServicePort {
  /** "" for the single unnamed port, as Kubernetes allows */
  name: string;
  protocol: Protocol;
  port: number;
  /** number, or the name of a container port (resolved by EndpointSlices) */
  targetPort: number | string;
  nodePort?: number;
}

export interface Endpoint {
  address: string;
  /** port number per service port name ("" for the unnamed port) */
  ports: Record<string, number>;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName?: string;
  zone?: string;
  /** EndpointSlice hints (topology-aware routing, plan/topology.ts) */
  hints?: EndpointHints;
}

export interface EndpointHints {
  forZones?: string[];
  forNodes?: string[];
}

export type TrafficDistribution = 'PreferClose' | 'PreferSameZone' | 'PreferSameNode';

export interface Service {
  namespace: string;
  name: string;
  type: ServiceType;
  clusterIPs: string[];
  externalIPs: string[];
  /** status.loadBalancer.ingress[].ip */
  loadBalancerIPs: string[];
  ports: ServicePort[];
  sessionAffinity: SessionAffinity;
  sessionAffinityTimeoutSeconds: number;
  externalTrafficPolicy: TrafficPolicy;
  internalTrafficPolicy: TrafficPolicy;
  /** spec.trafficDistribution; kube-proxy acts on the hints it produces, not on this */
  trafficDistribution?: TrafficDistribution;
  /** spec.healthCheckNodePort (externalTrafficPolicy Local): the node agent answers load-balancer probes on it */
  healthCheckNodePort?: number;
  endpoints: Endpoint[];
}

/** A service kube-proxy does not program, and why (headless, ExternalName...). */
export interface IgnoredService {
  namespace: string;
  name: string;
  reason: string;
}

export interface ServiceSet {
  services: Service[];
  ignored: IgnoredService[];
}
