/**
 * One ServicePortState as map entries: frontends (svp_services), two backend
 * groups (svp_backends) and a meta record (svp_meta) that lets read() rebuild
 * the state exactly. Groups are double-buffered: a change writes the new
 * lists into the other generation, then flips the frontends to it.
 */
import { invalidField } from '../../errors.js';
import type { Backend, Family, ServicePortState } from '../../plan/types.js';
import {
  IPPROTO,
  KEY_LEN,
  SVP_F_CLUSTER_IP,
  SVP_F_EXTERNAL_IP,
  SVP_F_LB_IP,
  SVP_F_NODE_PORT,
  SVP_M_AFFINITY,
  SVP_M_EXTERNAL_LOCAL,
  SVP_M_HAS_ENDPOINTS,
  type ProtoName,
} from './layout.js';

/** A (address, port, protocol) the programs match; addr "" = node port on any node address. */
export interface Frontend {
  addr: string;
  port: number;
  proto: ProtoName;
  family: Family;
  /** SVP_F_* (an address may be both an external IP and a load-balancer IP) */
  flags: number;
  /** uses the external backend list */
  external: boolean;
}

export interface Programmed {
  state: ServicePortState;
  metaId: number;
  gen: number;
  frontends: Frontend[];
}

export const groupOf = (metaId: number, gen: number, external: boolean) => metaId * 4 + gen * 2 + (external ? 1 : 0);
export const frontendId = (fe: Pick<Frontend, 'family' | 'addr' | 'port' | 'proto'>) => `${fe.family}|${fe.addr}|${fe.port}|${fe.proto}`;

function sameBackends(a: Backend[], b: Backend[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.address !== b[i]!.address || a[i]!.port !== b[i]!.port) return false;
  return true;
}

/** External frontends share the internal group when the lists are equal. */
export const externalShared = (s: ServicePortState) => sameBackends(s.internal, s.external);

export function frontendsOf(s: ServicePortState): Frontend[] {
  // the common case, a cluster IP only: no id map, no id strings
  if (s.nodePort === null && s.externalIPs.length === 0 && s.loadBalancerIPs.length === 0)
    return [{ addr: s.clusterIP, port: s.port, proto: s.protocol, family: s.family, flags: SVP_F_CLUSTER_IP, external: false }];
  const byId = new Map<string, Frontend>();
  const add = (addr: string, port: number, flags: number, external: boolean) => {
    const fe: Frontend = { addr, port, proto: s.protocol, family: s.family, flags, external };
    const old = byId.get(frontendId(fe));
    if (old) old.flags |= flags;
    else byId.set(frontendId(fe), fe);
  };
  add(s.clusterIP, s.port, SVP_F_CLUSTER_IP, false);
  if (s.nodePort !== null) add('', s.nodePort, SVP_F_NODE_PORT, true);
  for (const ip of s.externalIPs) add(ip, s.port, SVP_F_EXTERNAL_IP, true);
  for (const ip of s.loadBalancerIPs) add(ip, s.port, SVP_F_LB_IP, true);
  return [...byId.values()];
}

export function metaFlags(s: ServicePortState): number {
  return (s.hasEndpoints ? SVP_M_HAS_ENDPOINTS : 0) | (s.externalLocal ? SVP_M_EXTERNAL_LOCAL : 0) | (s.affinitySeconds !== null ? SVP_M_AFFINITY : 0);
}

const KEY_RE = /^([a-z0-9][a-z0-9.-]*)\/([a-z0-9][a-z0-9.-]*):([a-z0-9-]*)\/(TCP|UDP|SCTP)@([46])$/;
/** KEY_RE without captures: what the sync hot path tests */
const KEY_OK = /^[a-z0-9][a-z0-9.-]*\/[a-z0-9][a-z0-9.-]*:[a-z0-9-]*\/(?:TCP|UDP|SCTP)@[46]$/;

/** The key string stored in svp_meta: validated here so nothing odd reaches the kernel. */
export function checkStorable(s: ServicePortState): void {
  // the pattern admits ASCII only, so length is the byte length
  if (s.key.length >= KEY_LEN || !KEY_OK.test(s.key))
    throw invalidField(`${s.namespace}/${s.name}`, `service key "${s.key}" cannot be stored by bpf mode (DNS names, under ${KEY_LEN} bytes)`);
  if (!(s.protocol in IPPROTO)) throw invalidField(`${s.namespace}/${s.name}`, `protocol ${s.protocol} is not supported`);
}

export function parseKey(key: string): Pick<ServicePortState, 'namespace' | 'name' | 'portName' | 'protocol' | 'family'> | undefined {
  const m = KEY_RE.exec(key);
  if (!m) return undefined;
  return { namespace: m[1]!, name: m[2]!, portName: m[3]!, protocol: m[4] as ServicePortState['protocol'], family: Number(m[5]) as Family };
}
