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

/** The elements of service-ips, service-meta and endpoints of one family's table -> states, sorted by key. */
export function statesFromElements(family: Family, ips: Elem[], metas: Elem[], endpoints: Elem[]): ServicePortState[] {
  const ports = new Map<string, Collected>();
  const portOf = (clusterIP: string, proto: string, port: number) => {
    const k = `${clusterIP}|${proto}|${port}`;
    let c = ports.get(k);
    if (!c) ports.set(k, (c = { externalIPs: [], loadBalancerIPs: [], internal: [], external: [] }));
    return c;
  };
  for (const { key: [ip, proto, port], comment } of ips) {
    const text = comment ?? '';
    const words = text.split(' ');
    if (!text || words[0] === EXTERNAL_IP_COMMENT || words[0] === LB_IP_COMMENT) continue;
    const c = portOf(String(ip), String(proto), Number(port));
    const space = text.indexOf(' ');
    c.name = space < 0 ? text : text.slice(0, space);
    if (space >= 0) c.meta = text.slice(space + 1);
  }
  for (const { key: [ip, proto, port], comment } of metas) {
    const c = ports.get(`${ip}|${proto}|${port}`);
    if (c && c.meta === undefined) c.meta = comment;
  }
  for (const { key: [ip, proto, port], comment } of ips) {
    const words = (comment ?? '').split(' ');
    if (words[0] !== EXTERNAL_IP_COMMENT && words[0] !== LB_IP_COMMENT) continue;
    const c = ports.get(`${words[1]}|${proto}|${port}`);
    (words[0] === EXTERNAL_IP_COMMENT ? c?.externalIPs : c?.loadBalancerIPs)?.push(String(ip));
  }
  for (const { key: [ip, proto, port, slot], value } of endpoints) {
    const c = ports.get(`${ip}|${proto}|${port}`);
    if (!c || !value) continue; // an external IP's slots: the record under the cluster key is the reference
    const [address, bport] = value;
    const n = Number(slot);
    const b = { address: String(address), port: Number(bport) };
    if (n >= EXTERNAL_RECORD_SLOT) c.external[n - EXTERNAL_RECORD_SLOT] = b;
    else c.internal[n] = b;
  }

  const out: ServicePortState[] = [];
  for (const [k, c] of ports) {
    const meta = parseMetaComment(c.meta);
    const slash = c.name?.indexOf('/') ?? -1;
    if (!meta || !c.name || slash < 0) continue; // not a complete svcproxy port
    const [clusterIP, proto, port] = k.split('|') as [string, string, string];
    const dense = (l: (Backend | undefined)[]) => (l.includes(undefined) ? undefined : (l as Backend[]));
    const internal = dense(c.internal);
    const external = meta.externalSame ? internal : dense(c.external);
    if (!internal || !external || !PROTOS[proto]) continue;
    const namespace = c.name.slice(0, slash);
    const name = c.name.slice(slash + 1);
    const protocol = PROTOS[proto]!;
    out.push({
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
    });
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
