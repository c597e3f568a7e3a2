/**
 * Kernel -> ServicePortState[]: rebuild one family's ports from the
 * elements of its svcproxy table (dumped over raw netlink, decode.ts),
 * using only what svcproxy writes there:
 *   service-ips   cluster element comment "namespace/name <meta>" (metaComment:
 *                 port name and policy bits); external and load-balancer IP
 *                 elements name the port's cluster IP
 *   service-meta  the meta of a port whose comment would pass 127 characters
 *                 (key clusterIP . proto . port)
 *   endpoints     slots 0.. under the cluster key: the internal endpoints, in
 *                 order; slots from EXTERNAL_RECORD_SLOT: the external ones
 *                 when they differ (metaComment says external=internal otherwise)
 * Used only by read(), to recover after a restart; syncs never list.
 */
import type { Backend, Family, ServicePortState } from '../../plan/types.js';
import type { Elem } from './encode.js';
import { EXTERNAL_IP_COMMENT, EXTERNAL_RECORD_SLOT, HOOK_CHAINS, LB_IP_COMMENT, parseMetaComment } from './names.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

const PROTOS: Record<string, ServicePortState['protocol']> = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' };

interface Collected {
  meta?: string;
  name?: string;
  externalIPs: string[];
  loadBalancerIPs: string[];
  internal: (Backend | undefined)[];
  external: (Backend | undefined)[];
}

/** The tables a `list chains` JSON answer shows hooked in (as "family name"): live ones, not ones left half-built by a crash. */
export function liveTables(json: string): string[] {
  const items: Json[] = JSON.parse(json).nftables ?? [];
  return items.filter((i) => i.chain?.name === HOOK_CHAINS[0] && i.chain.hook !== undefined).map((i) => `${i.chain.family} ${i.chain.table}`);
}

type Ports = Map<string, Collected>;
const portKey = (ip: unknown, proto: unknown, port: unknown) => `${ip}|${proto}|${port}`;
const isFrontendComment = (word: string | undefined) => word === EXTERNAL_IP_COMMENT || word === LB_IP_COMMENT;

/** Cluster elements of service-ips start a port: its name, and its meta when the comment holds both. */
function collectClusterEntries(ips: Elem[], ports: Ports): void {
  for (const { key: [ip, proto, port], comment } of ips) {
    const text = comment ?? '';
    if (!text || isFrontendComment(text.split(' ')[0])) continue;
    const c: Collected = { externalIPs: [], loadBalancerIPs: [], internal: [], external: [] };
    ports.set(portKey(ip, proto, port), c);
    const space = text.indexOf(' ');
    c.name = space < 0 ? text : text.slice(0, space);
    if (space >= 0) c.meta = text.slice(space + 1);
  }
}

/** service-meta: the meta of ports whose comment would have been too long. */
function collectMetas(metas: Elem[], ports: Ports): void {
  for (const { key: [ip, proto, port], comment } of metas) {
    const c = ports.get(portKey(ip, proto, port));
    if (c && c.meta === undefined) c.meta = comment;
  }
}

/** External and load-balancer IP elements name their port's cluster IP. */
function collectFrontends(ips: Elem[], ports: Ports): void {
  for (const { key: [ip, proto, port], comment } of ips) {
    const words = (comment ?? '').split(' ');
    if (!isFrontendComment(words[0])) continue;
    const c = ports.get(portKey(words[1], proto, port));
    (words[0] === EXTERNAL_IP_COMMENT ? c?.externalIPs : c?.loadBalancerIPs)?.push(String(ip));
  }
}

/** Endpoint slots under the cluster key: internal from 0, external from EXTERNAL_RECORD_SLOT. */
function collectSlots(endpoints: Elem[], ports: Ports): void {
  for (const { key: [ip, proto, port, slot], value } of endpoints) {
    const c = ports.get(portKey(ip, proto, port));
    if (!c || !value) continue; // an external IP's slots: the record under the cluster key is the reference
    const [address, bport] = value;
    const n = Number(slot);
    const b = { address: String(address), port: Number(bport) };
    if (n >= EXTERNAL_RECORD_SLOT) c.external[n - EXTERNAL_RECORD_SLOT] = b;
    else c.internal[n] = b;
  }
}

/** A collected port as a state; undefined when it is not a complete svcproxy port. */
function toState(family: Family, k: string, c: Collected): ServicePortState | undefined {
  const meta = parseMetaComment(c.meta);
  const slash = c.name?.indexOf('/') ?? -1;
  if (!meta || !c.name || slash < 0) return undefined;
  const [clusterIP, proto, port] = k.split('|') as [string, string, string];
  const dense = (l: (Backend | undefined)[]) => (l.includes(undefined) ? undefined : (l as Backend[]));
  const internal = dense(c.internal);
  const external = meta.externalSame ? internal : dense(c.external);
  const protocol = PROTOS[proto];
  if (!internal || !external || !protocol) return undefined;
  const namespace = c.name.slice(0, slash);
  const name = c.name.slice(slash + 1);
  return {
    key: `${namespace}/${name}:${meta.portName}/${protocol}@${family}`,
    namespace,
    name,
    portName: meta.portName,
    protocol,
    family,
    clusterIP,
    port: Number(port),
    nodePort: meta.nodePort,
    externalIPs: c.externalIPs.sort(),
    loadBalancerIPs: c.loadBalancerIPs.sort(),
    affinitySeconds: meta.affinitySeconds,
    externalLocal: meta.externalLocal,
    internal,
    external: meta.externalSame ? internal.slice() : external,
    hasEndpoints: meta.hasEndpoints,
  };
}

/** The elements of service-ips, service-meta and endpoints of one family's table -> states, sorted by key. */
export function statesFromElements(family: Family, ips: Elem[], metas: Elem[], endpoints: Elem[]): ServicePortState[] {
  const ports: Ports = new Map();
  collectClusterEntries(ips, ports);
  collectMetas(metas, ports);
  collectFrontends(ips, ports);
  collectSlots(endpoints, ports);
  const out: ServicePortState[] = [];
  for (const [k, c] of ports) {
    const s = toState(family, k, c);
    if (s) out.push(s);
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Tables in a `list chains` JSON answer, as "family name" (every table
 * svcproxy builds has chains). Not `list tables`: libnftables 1.0.6 fetches
 * every set element for that (5 s at 30k ports), for `list chains` it does not.
 */
export function tableNames(json: string): string[] {
  const items: Json[] = JSON.parse(json).nftables ?? [];
  return [...new Set(items.filter((i) => i.chain).map((i) => `${i.chain.family} ${i.chain.table}`))];
}

/** libnftables version from the metainfo of any JSON answer. */
export function jsonVersion(json: string): string | undefined {
  const items: Json[] = JSON.parse(json).nftables ?? [];
  return items.find((i) => i.metainfo)?.metainfo.version;
}
