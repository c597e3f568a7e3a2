/**
 * ServicePortState -> the nft objects that implement it (chains with their
 * rules, affinity sets, map elements), as text fragments. Both the full load
 * and the incremental sync are assembled from these, and the dataplane keeps
 * them in memory to compute the next delta without reading the kernel.
 *
 * Layout per service port (kube-proxy's nftables mode, denser: endpoints are
 * rules of the service chain, not a chain each):
 *   service-ips        clusterIP . proto . port -> goto svc-..., external/LB IPs -> goto ext-...
 *   service-nodeports  proto . nodePort -> goto ext-...
 *   svc-<id>           [masquerade mark] N dnat rules picked by numgen | drop | reject
 *   ext-<id>           [masquerade mark] same, with the external endpoints (only when needed)
 *   ep-<id>/<a>/<p>    ClientIP affinity only: record the client in aff-<id>/<a>/<p>, dnat
 */
import type { Backend, ServicePortState } from '../../plan/types.js';
import {
  EXTERNAL_IP_COMMENT,
  LB_IP_COMMENT,
  SERVICE_IPS,
  SERVICE_NODEPORTS,
  affinitySet,
  commentText,
  epChain,
  extChain,
  familySyntax,
  metaComment,
  quote,
  svcChain,
  type FamilySyntax,
} from './names.js';

export interface MasqueradeOptions {
  clusterCIDR?: string;
  masqueradeAll: boolean;
  masqueradeBit: number;
}

export interface MapElement {
  map: typeof SERVICE_IPS | typeof SERVICE_NODEPORTS;
  /** the key, as written in add/delete element */
  key: string;
  /** key [comment] : verdict, as written in add element */
  text: string;
}

export interface PortObjects {
  /** chain name -> rules, in order */
  chains: Map<string, string[]>;
  /** set name -> declaration body */
  sets: Map<string, string>;
  elements: MapElement[];
  /** endpoint addresses (for the hairpin set) */
  endpoints: string[];
}

const hex = (n: number) => `0x${n.toString(16)}`;
const sameBackends = (a: Backend[], b: Backend[]) => a.length === b.length && a.every((x, i) => x.address === b[i]!.address && x.port === b[i]!.port);

/** Does this port need an ext chain: external frontends, or external endpoints that differ. */
export const needsExtChain = (s: ServicePortState) =>
  s.nodePort !== null || s.externalIPs.length > 0 || s.loadBalancerIPs.length > 0 || !sameBackends(s.internal, s.external);

const addrPort = (fs: FamilySyntax, b: Backend) => (fs.l3 === 'ip' ? `${b.address}:${b.port}` : `[${b.address}]:${b.port}`);

/**
 * Pick one of `targets` uniformly: rule i matches with probability 1/(N-i)
 * (`numgen random mod N-i 0`, drawn afresh per rule), the last always. Not an
 * anonymous numgen map: the kernel allocates anonymous set names by scanning
 * every set of the table, so 30k services with one map each took minutes.
 */
function pickOne(targets: string[]): string[] {
  const n = targets.length;
  return targets.map((t, i) => (i < n - 1 ? `numgen random mod ${n - i} 0 ${t}` : t));
}

/** The rules that pick an endpoint of `list`; the last carries `comment`. */
function endpointRules(s: ServicePortState, fs: FamilySyntax, list: Backend[], comment: string): string[] {
  const c = ` comment ${commentText(comment)}`;
  if (list.length === 0) return [(s.hasEndpoints ? 'drop' : 'reject') + c];
  const l4 = `meta l4proto ${s.protocol.toLowerCase()}`;
  const rules: string[] = [];
  let targets: string[];
  if (s.affinitySeconds === null) {
    targets = list.map((b) => `${l4} dnat ${fs.l3} to ${addrPort(fs, b)}`);
  } else {
    rules.push(...list.map((b) => `${fs.l3} saddr @${quote(affinitySet(s, b))} goto ${quote(epChain(s, b))}`));
    targets = list.map((b) => `goto ${quote(epChain(s, b))}`);
  }
  rules.push(...pickOne(targets));
  rules[rules.length - 1] += c;
  return rules;
}

export function portObjects(s: ServicePortState, masq: MasqueradeOptions): PortObjects {
  const fs = familySyntax(s.family);
  const mark = `meta mark set meta mark or ${hex(masq.masqueradeBit)}`;
  const chains = new Map<string, string[]>();
  const sets = new Map<string, string>();
  const l4 = s.protocol.toLowerCase();

  // Cluster-IP traffic: masquerade what comes from outside the pod network.
  const svc: string[] = [];
  if (masq.masqueradeAll) svc.push(mark);
  else if (masq.clusterCIDR) svc.push(`${fs.l3} saddr != ${masq.clusterCIDR} ${mark}`);
  svc.push(...endpointRules(s, fs, s.internal, metaComment(s)));
  chains.set(svcChain(s), svc);

  const elements: MapElement[] = [];
  const ipElem = (ip: string, comment: string, chain: string): MapElement => {
    const key = `${ip} . ${l4} . ${s.port}`;
    return { map: SERVICE_IPS, key, text: `${key}${comment ? ` comment ${commentText(comment)}` : ''} : goto ${quote(chain)}` };
  };
  elements.push(ipElem(s.clusterIP, '', svcChain(s)));

  if (needsExtChain(s)) {
    // Node-port / external traffic: masquerade unless the policy is Local,
    // then only traffic from this node itself (it would not return otherwise).
    const ext = [s.externalLocal ? `fib saddr type local ${mark}` : mark];
    ext.push(...endpointRules(s, fs, s.external, 'svcproxy external'));
    chains.set(extChain(s), ext);
    for (const ip of s.externalIPs) elements.push(ipElem(ip, EXTERNAL_IP_COMMENT, extChain(s)));
    for (const ip of s.loadBalancerIPs) elements.push(ipElem(ip, LB_IP_COMMENT, extChain(s)));
    if (s.nodePort !== null) {
      const key = `${l4} . ${s.nodePort}`;
      elements.push({ map: SERVICE_NODEPORTS, key, text: `${key} : goto ${quote(extChain(s))}` });
    }
  }

  const all = unionBackends(s.internal, s.external);
  if (s.affinitySeconds !== null) {
    for (const b of all) {
      sets.set(affinitySet(s, b), `type ${fs.addrType}; flags dynamic,timeout; timeout ${s.affinitySeconds}s;`);
      chains.set(epChain(s, b), [`update @${quote(affinitySet(s, b))} { ${fs.l3} saddr }`, `meta l4proto ${l4} dnat ${fs.l3} to ${addrPort(fs, b)}`]);
    }
  }
  return { chains, sets, elements, endpoints: [...new Set(all.map((b) => b.address))] };
}

function unionBackends(a: Backend[], b: Backend[]): Backend[] {
  const seen = new Map<string, Backend>();
  for (const x of [...a, ...b]) seen.set(`${x.address}|${x.port}`, x);
  return [...seen.values()];
}
