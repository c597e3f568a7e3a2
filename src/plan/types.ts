/**
 * What a dataplane programs, and reads back: one entry per service port and
 * IP family, with endpoint policy already decided (shared by every mode).
 */
export type Family = 4 | 6;

export interface Backend {
  address: string;
  port: number;
}

export interface ServicePortState {
  /** stable identity: "namespace/name:portName/PROTOCOL@family" */
  key: string;
  namespace: string;
  name: string;
  portName: string;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  family: Family;
  clusterIP: string;
  port: number;
  /** null when the service has no node port */
  nodePort: number | null;
  externalIPs: string[];
  loadBalancerIPs: string[];
  /** ClientIP affinity timeout, null for no affinity */
  affinitySeconds: number | null;
  /** externalTrafficPolicy: Local (node port / external IPs use local endpoints, keep source) */
  externalLocal: boolean;
  /** endpoints for traffic from inside the cluster (cluster IP), sorted */
  internal: Backend[];
  /** endpoints for node-port / external / load-balancer traffic, sorted; [] without such frontends */
  external: Backend[];
  /** some endpoint is usable cluster-wide: an empty list then means drop, not reject */
  hasEndpoints: boolean;
}

/**
 * One aspect of a service port that can change (plan/diff.ts `differences`).
 * Dataplanes decide from these (e.g. endpoints only: no frontend rules to
 * rewrite); plan/render.ts alone turns them into words.
 */
export type Aspect = 'clusterIP' | 'nodePort' | 'externalIPs' | 'affinity' | 'policy' | 'endpoints';
/** every aspect, in the order the change text lists them */
export const ASPECTS: readonly Aspect[] = ['clusterIP', 'nodePort', 'externalIPs', 'affinity', 'policy', 'endpoints'];

export interface PortChange {
  before: ServicePortState;
  after: ServicePortState;
  /** which aspects changed (never empty) */
  what: ReadonlySet<Aspect>;
}

/** True when something other than the endpoints changed: frontends, affinity or policy rules must be rewritten. */
export const movesFrontends = (c: PortChange) => c.what.size > (c.what.has('endpoints') ? 1 : 0);

export interface ChangeSet {
  added: ServicePortState[];
  removed: ServicePortState[];
  changed: PortChange[];
  unchanged: number;
}

export interface Plan {
  desired: ServicePortState[];
  /** what the kernel holds now (as read back or as last programmed) */
  actual: ServicePortState[];
  changes: ChangeSet;
}

export const displayName = (s: Pick<ServicePortState, 'namespace' | 'name' | 'portName'>) =>
  `${s.namespace}/${s.name}${s.portName ? `:${s.portName}` : ''}`;

export const isEmptyChangeSet = (c: ChangeSet) => c.added.length + c.removed.length + c.changed.length === 0;
