/**
 * Object names in `table <family> svcproxy`. The service port's identity is
 * spelled in its chain names (namespace/name/protocol/portName), so read()
 * can rebuild ServicePortState from the kernel alone. Only validated DNS
 * labels, addresses and numbers go into names (validate.ts), and names are
 * always written quoted.
 */
import type { Backend, Family, ServicePortState } from '../../plan/types.js';

export const TABLE = 'svcproxy';
export const SERVICE_IPS = 'service-ips';
export const SERVICE_NODEPORTS = 'service-nodeports';
export const HAIRPIN = 'hairpin';
export const SERVICES = 'services';
export const BASE_CHAINS = ['nat-prerouting', 'nat-output', 'nat-postrouting', SERVICES] as const;

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

/** nft identifiers allow [a-zA-Z0-9/_.-] but no ':' (and libnftables 1.0.6 takes no quoted chain names) */
const addrInName = (a: string) => a.replaceAll(':', '_');
const addrFromName = (a: string) => a.replaceAll('_', ':');

/** Names are written bare: every character is one the nft scanner takes in an identifier. */
export const quote = (name: string) => name;

/** A comment from svcproxy's fixed vocabulary (never user text), quoted. */
export const commentText = (c: string) => {
  if (!/^[a-z0-9 =-]*$/.test(c)) throw new Error(`internal: unsafe nft comment ${JSON.stringify(c)}`);
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

/** Rule comment on the last rule of a svc chain: the policy bits rules do not show. */
export interface PortMeta {
  affinitySeconds: number | null;
  externalLocal: boolean;
  hasEndpoints: boolean;
}

export function metaComment(m: PortMeta): string {
  const parts = ['svcproxy'];
  if (m.affinitySeconds !== null) parts.push(`affinity=${m.affinitySeconds}`);
  if (m.externalLocal) parts.push('external-local');
  if (m.hasEndpoints) parts.push('has-endpoints');
  return parts.join(' ');
}

export function parseMetaComment(c: string | undefined): PortMeta | undefined {
  if (c === undefined) return undefined;
  const words = c.split(' ');
  if (words[0] !== 'svcproxy') return undefined;
  const aff = words.find((w) => w.startsWith('affinity='));
  return {
    affinitySeconds: aff ? Number(aff.slice('affinity='.length)) : null,
    externalLocal: words.includes('external-local'),
    hasEndpoints: words.includes('has-endpoints'),
  };
}

/** service-ips element comments telling external IPs from load-balancer IPs */
export const EXTERNAL_IP_COMMENT = 'external-ip';
export const LB_IP_COMMENT = 'load-balancer-ip';
