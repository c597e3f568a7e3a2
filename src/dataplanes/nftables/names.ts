/**
 * Object names in `table <family> svcproxy`: a fixed set of maps and a few
 * shared chains, plus per-port chains only for ClientIP affinity (their
 * names spell the port: namespace/name/protocol/portName). The identity of
 * every port is kept in element comments (see SERVICE_META), so read() can
 * rebuild ServicePortState from the kernel alone. Only validated DNS labels,
 * addresses and numbers go into names and comments (validate.ts).
 */
import type { Backend, Family, ServicePortState } from '../../plan/types.js';

/** svcproxy's table; a full sync builds the other name and swaps (see ruleset.ts) */
export const TABLE = 'svcproxy';
export const TABLES = [TABLE, 'svcproxy-b'] as const;
export type TableName = (typeof TABLES)[number];

// dispatch maps: frontend -> verdict (goto a shared pick chain, drop, goto no-endpoints)
export const SERVICE_IPS = 'service-ips';
export const SERVICE_NODEPORTS = 'service-nodeports';
// endpoint slots: frontend . slot -> backend address . port
export const ENDPOINTS = 'endpoints';
export const NODEPORT_ENDPOINTS = 'nodeport-endpoints';
/** one element per service port (cluster key), its comment holds what rules do not show */
export const SERVICE_META = 'service-meta';
export const HAIRPIN = 'hairpin';
export type SetName =
  | typeof SERVICE_IPS
  | typeof SERVICE_NODEPORTS
  | typeof ENDPOINTS
  | typeof NODEPORT_ENDPOINTS
  | typeof SERVICE_META
  | typeof HAIRPIN;

export const SERVICES = 'services';
export const NO_ENDPOINTS = 'no-endpoints';
export const HOOK_CHAINS = ['nat-prerouting', 'nat-output', 'nat-postrouting'] as const;
export const BASE_CHAINS = [...HOOK_CHAINS, SERVICES] as const;

/**
 * Slots at and above this index hold a port's external endpoint list under
 * its cluster key, for read() only, when it differs from the internal list
 * (numgen never draws them: `mod n` stays below n).
 */
export const EXTERNAL_RECORD_SLOT = 0x80000000;

/**
 * Shared endpoint-pick chains, one per kind and size class (not per
 * service). A port with n endpoints goes to class pickClass(n), the power of
 * two at or above n, and stays in its class while n is in [C/2, C]
 * (objects.ts classFor): an endpoint count change then keeps its verdict,
 * only slot elements change, and the kernel skips the table-wide jump
 * validation a changed goto costs (~7 ms at 30k ports).
 */
export type PickKind = 'cluster' | 'external' | 'external-local' | 'nodeport' | 'nodeport-local';
export const pickClass = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));
export const pickChain = (kind: PickKind, size: number) => `${kind}-${size}`;
/** the chain holding a class's one draw rule (objects.ts PICK_DRAWS) */
export const drawChain = (kind: PickKind, size: number) => `${kind}-${size}-draw`;

/** nft syntax that depends on the IP family */
export interface FamilySyntax {
  /** table family and layer-3 payload keyword */
  table: 'ip' | 'ip6';
  l3: 'ip' | 'ip6';
  addrType: 'ipv4_addr' | 'ipv6_addr';
  loopback: string;
}

export const familySyntax = (f: Family): FamilySyntax =>
  f === 4
    ? { table: 'ip', l3: 'ip', addrType: 'ipv4_addr', loopback: '127.0.0.0/8' }
    : { table: 'ip6', l3: 'ip6', addrType: 'ipv6_addr', loopback: '::1' };

export type PortIdentity = Pick<ServicePortState, 'namespace' | 'name' | 'protocol' | 'portName'>;

const portId = (s: PortIdentity) => `${s.namespace}/${s.name}/${s.protocol.toLowerCase()}/${s.portName}`;

/** cluster-IP entry and internal endpoints */
export const svcChain = (s: PortIdentity) => `svc-${portId(s)}`;
/** node-port / external-IP / load-balancer entry and external endpoints */
export const extChain = (s: PortIdentity) => `ext-${portId(s)}`;
/** one endpoint (only for ClientIP affinity: it records the client) */
export const epChain = (s: PortIdentity, b: Backend) => `ep-${portId(s)}/${addrInName(b.address)}/${b.port}`;
/** the clients pinned to one endpoint (ClientIP affinity), with timeout */
export const affinitySet = (s: PortIdentity, b: Backend) => `aff-${portId(s)}/${addrInName(b.address)}/${b.port}`;

/** nft identifiers allow [a-zA-Z0-9/_.-] but no ':' (and libnftables 1.0.6 takes no quoted chain names), so names are written bare */
const addrInName = (a: string) => a.replaceAll(':', '_');
const addrFromName = (a: string) => a.replaceAll('_', ':');

/** A comment built from validated labels, numbers and addresses only, quoted. */
export const commentText = (c: string) => {
  if (!/^[a-z0-9 =./:-]*$/.test(c)) throw new Error(`internal: unsafe nft comment ${JSON.stringify(c)}`);
  return `"${c}"`;
};

export interface ParsedName {
  kind: 'svc' | 'ext' | 'ep' | 'aff';
  id: PortIdentity;
  backend?: Backend;
}

const PROTOS: Record<string, ServicePortState['protocol']> = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' };

/** Inverse of the name functions above; undefined for names svcproxy does not write. */
export function parseName(name: string): ParsedName | undefined {
  const m = /^(svc|ext|ep|aff)-([^/]+)\/([^/]+)\/(tcp|udp|sctp)\/([^/]*)(?:\/([^/]+)\/(\d+))?$/.exec(name);
  if (!m) return undefined;
  const kind = m[1] as ParsedName['kind'];
  const hasBackend = m[6] !== undefined;
  if ((kind === 'ep' || kind === 'aff') !== hasBackend) return undefined;
  const id: PortIdentity = { namespace: m[2]!, name: m[3]!, protocol: PROTOS[m[4]!]!, portName: m[5]! };
  return hasBackend ? { kind, id, backend: { address: addrFromName(m[6]!), port: Number(m[7]) } } : { kind, id };
}

/** What a port's service-meta element comment records (rules and maps do not show it). */
export interface PortMeta {
  portName: string;
  affinitySeconds: number | null;
  externalLocal: boolean;
  hasEndpoints: boolean;
  nodePort: number | null;
  /** external endpoints equal the internal ones (else they are recorded at EXTERNAL_RECORD_SLOT) */
  externalSame: boolean;
}

/** e.g. "port=http affinity=600 local has-endpoints nodeport=30080 external=internal" (at most ~90 chars) */
export function metaComment(m: PortMeta): string {
  const parts = [`port=${m.portName}`];
  if (m.affinitySeconds !== null) parts.push(`affinity=${m.affinitySeconds}`);
  if (m.externalLocal) parts.push('local');
  if (m.hasEndpoints) parts.push('has-endpoints');
  if (m.nodePort !== null) parts.push(`nodeport=${m.nodePort}`);
  if (m.externalSame) parts.push('external=internal');
  return parts.join(' ');
}

export function parseMetaComment(c: string | undefined): PortMeta | undefined {
  if (c === undefined) return undefined;
  const words = c.split(' ');
  if (!words[0]?.startsWith('port=')) return undefined;
  const num = (k: string) => {
    const w = words.find((x) => x.startsWith(`${k}=`));
    return w ? Number(w.slice(k.length + 1)) : null;
  };
  return {
    portName: words[0].slice('port='.length),
    affinitySeconds: num('affinity'),
    externalLocal: words.includes('local'),
    hasEndpoints: words.includes('has-endpoints'),
    nodePort: num('nodeport'),
    externalSame: words.includes('external=internal'),
  };
}

/**
 * service-ips element comments: the cluster element names its service
 * ("namespace/name": two DNS labels, at most 127 characters, within nft's
 * 128); an external or load-balancer IP element names the cluster IP of its
 * port (protocol and port are the element's own).
 */
export const EXTERNAL_IP_COMMENT = 'external-ip';
export const LB_IP_COMMENT = 'load-balancer-ip';
