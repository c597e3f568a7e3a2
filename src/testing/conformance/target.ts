/**
 * What the conformance suite needs from a mode under test: a ServiceProxy to apply
 * through, a way to make connections and see where they landed, and a view
 * of the kernel (snapshot, foreign objects, leftovers).
 */
import type { ServiceProxy } from '../../api/proxy.js';
import type { Attempt, ClientTarget } from '../../sandbox/topology.js';

export interface Target {
  proxy: ServiceProxy;
  backends: { name: string; address: string }[];
  /** the node's address as the client sees it (node ports answer there) */
  nodeIP: string;
  /** the client's own address (what a non-masqueraded endpoint sees) */
  clientIP: string;
  /** this node's name, for traffic policy Local */
  nodeName: string;
  /** the IPv6 side of a dual-stack target (undefined: IPv4 only) */
  ipv6?: TargetIPv6;
  connect(targets: ClientTarget[], count: number, timeoutMs?: number): Promise<Attempt[]>;
  /** the same from backend i's own namespace (a pod calling a service it serves) */
  connectFromBackend(i: number, targets: ClientTarget[], count: number, timeoutMs?: number): Promise<Attempt[]>;
  /** the namespace's whole kernel state as text, for byte-identical checks */
  snapshot(): Promise<string>;
  /** place objects svcproxy does not own (foreign chain, table, virtual server, program) */
  placeForeign(): Promise<void>;
  /** the foreign objects are still there, unchanged */
  foreignIntact(): Promise<boolean>;
  /** owned objects still in the kernel (empty after cleanup) */
  ownedLeft(): Promise<string[]>;
  destroy(): Promise<void>;
}

/** Addresses of a dual-stack target's IPv6 side, in the order of Target.backends. */
export interface TargetIPv6 {
  backends: string[];
  nodeIP: string;
  clientIP: string;
}

/** What a mode can do; the suite defines only the tests that apply (never skips). */
export interface Features {
  udp: boolean;
  nodePort: boolean;
  externalIPs: boolean;
  /** external traffic is masqueraded (NAT modes) */
  masquerade: boolean;
  /** externalTrafficPolicy: Local keeps the client source */
  externalLocal: boolean;
  /** TCP to a service without endpoints is refused at once (a reset, not a rate-limited ICMP) */
  refusesAtOnce: boolean;
  /** a cluster IP refuses ports no service defines (kube-proxy's nftables mode) */
  undefinedPorts: boolean;
  /** real IPv6 traffic through dual-stack and single-stack v6 Services (ipv6.ts) */
  ipv6: boolean;
}

export const ALL_FEATURES: Features = { udp: true, nodePort: true, externalIPs: true, masquerade: true, externalLocal: true, refusesAtOnce: true, undefinedPorts: true, ipv6: true };
