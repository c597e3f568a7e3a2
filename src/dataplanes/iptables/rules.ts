/**
 * The rules of one service port, kube-proxy's layout (pkg/proxy/iptables):
 *
 *   nat SVP-SERVICES --(cluster IP)----------------> SVP-SVC-x --statistic--> SVP-SEP-y --DNAT--> endpoint
 *                    --(external/LB IP)--> SVP-EXT-x --(masq mark)--> SVP-SVC-x, or SVP-SVX-x (external endpoints)
 *   nat SVP-NODEPORTS --(node port)------> SVP-EXT-x
 *   filter SVP-FILTER: REJECT (no endpoints) / DROP (no local endpoints) per frontend
 *                      (TCP is refused with a reset: ICMP port-unreachable is rate-limited, see noEndpointVerdict)
 *
 * Every SVC chain opens with a comment-only rule holding what the rules
 * alone cannot tell on read-back (the key, affinity, policy).
 */
import type { Backend, ServicePortState } from '../../plan/types.js';
import { cidrFor, dnatTo, hostMask, recentMask } from './family.js';
import * as n from './names.js';

export interface RuleOptions {
  masqBit: number;
  clusterCIDR?: string;
  masqueradeAll?: boolean;
}

export type ChainRules = Map<string, string[]>;

const hex = (bit: number) => `0x${bit.toString(16)}`;
const proto = (s: ServicePortState) => s.protocol.toLowerCase();
const l4 = (s: ServicePortState, port: number) => `-p ${proto(s)} -m ${proto(s)} --dport ${port}`;
const same = (a: Backend[], b: Backend[]) => JSON.stringify(a) === JSON.stringify(b);

export const hasExternalFrontends = (s: ServicePortState) =>
  s.nodePort !== null || s.externalIPs.length > 0 || s.loadBalancerIPs.length > 0;

/** chain that holds the external endpoint choice: the SVC chain when the lists agree */
export const externalTarget = (s: ServicePortState) => (same(s.internal, s.external) ? n.svcChain(s.key) : n.svxChain(s.key));

export const metaComment = (s: ServicePortState) =>
  `svp ${s.key} meta aff=${s.affinitySeconds ?? 0} xl=${s.externalLocal ? 1 : 0} he=${s.hasEndpoints ? 1 : 0}`;

/** The nat chains owned by one service port, with their rules. */
export function serviceChains(s: ServicePortState, o: RuleOptions): ChainRules {
  const chains: ChainRules = new Map();
  const svc = n.svcChain(s.key);
  const svcRules = [`-A ${svc} -m comment --comment ${n.safeComment(metaComment(s))}`];
  chains.set(svc, svcRules);
  if (s.internal.length > 0) {
    const cip = `-d ${s.clusterIP}${hostMask(s.family)} ${l4(s, s.port)}`;
    const cidr = cidrFor(s.family, o.clusterCIDR);
    if (o.masqueradeAll) svcRules.push(`-A ${svc} ${cip} -j ${n.MARK_MASQ}`);
    else if (cidr) svcRules.push(`-A ${svc} ! -s ${cidr} ${cip} -j ${n.MARK_MASQ}`);
    svcRules.push(...choose(svc, s, s.internal));
  }
  if (hasExternalFrontends(s) && s.external.length > 0) {
    const ext = n.extChain(s.key);
    const target = externalTarget(s);
    const rules: string[] = [];
    if (!s.externalLocal) {
      // Traffic from outside the cluster is masqueraded so replies come back through us.
      rules.push(`-A ${ext} -j ${n.MARK_MASQ}`, `-A ${ext} -j ${target}`);
    } else {
      // Local policy keeps the client's source; the node's own connections still need masquerade.
      const cidr = cidrFor(s.family, o.clusterCIDR);
      if (cidr) rules.push(`-A ${ext} -s ${cidr} -j ${svc}`);
      rules.push(`-A ${ext} -m addrtype --src-type LOCAL -j ${n.MARK_MASQ}`, `-A ${ext} -m addrtype --src-type LOCAL -j ${svc}`, `-A ${ext} -j ${target}`);
    }
    chains.set(ext, rules);
    if (target !== svc) chains.set(target, choose(target, s, s.external));
  }
  for (const b of endpointsOf(s)) chains.set(n.sepChain(s.key, b), endpointRules(s, b));
  return chains;
}

/** every endpoint the service port uses, internal or external, once */
export function endpointsOf(s: ServicePortState): Backend[] {
  const seen = new Map<string, Backend>();
  for (const b of [...s.internal, ...(hasExternalFrontends(s) ? s.external : [])]) seen.set(`${b.address}:${b.port}`, b);
  return [...seen.values()];
}

/** affinity look-ups first, then a uniform random pick: 1/n, 1/(n-1), ... 1 */
function choose(chain: string, s: ServicePortState, list: Backend[]): string[] {
  const rules: string[] = [];
  if (s.affinitySeconds !== null) {
    for (const b of list) {
      const sep = n.sepChain(s.key, b);
      rules.push(`-A ${chain} -m recent --name ${sep} --mask ${recentMask(s.family)} --rsource --rcheck --seconds ${s.affinitySeconds} --reap -j ${sep}`);
    }
  }
  list.forEach((b, i) => {
    const sep = n.sepChain(s.key, b);
    const left = list.length - i;
    rules.push(left > 1 ? `-A ${chain} -m statistic --mode random --probability ${(1 / left).toFixed(10)} -j ${sep}` : `-A ${chain} -j ${sep}`);
  });
  return rules;
}

function endpointRules(s: ServicePortState, b: Backend): string[] {
  const sep = n.sepChain(s.key, b);
  const recent = s.affinitySeconds !== null ? ` -m recent --name ${sep} --mask ${recentMask(s.family)} --rsource --set` : '';
  return [
    // Hairpin: an endpoint reaching itself through the service must be masqueraded.
    `-A ${sep} -s ${b.address}${hostMask(s.family)} -j ${n.MARK_MASQ}`,
    `-A ${sep} -p ${proto(s)}${recent} -m ${proto(s)} -j DNAT --to-destination ${dnatTo(s.family, b.address, b.port)}`,
  ];
}

/** nat dispatch rules of one service port (SVP-SERVICES and SVP-NODEPORTS) */
export function dispatchRules(s: ServicePortState): { services: string[]; nodePorts: string[] } {
  const services: string[] = [];
  const nodePorts: string[] = [];
  const c = (kind: n.FrontendKind) => `-m comment --comment ${n.safeComment(n.frontendComment(s.key, kind))}`;
  const p = proto(s);
  const m = hostMask(s.family);
  if (s.internal.length > 0) {
    services.push(`-A ${n.SERVICES} -d ${s.clusterIP}${m} -p ${p} ${c('cluster-ip')} -m ${p} --dport ${s.port} -j ${n.svcChain(s.key)}`);
  }
  if (hasExternalFrontends(s) && s.external.length > 0) {
    const ext = n.extChain(s.key);
    for (const ip of s.externalIPs) services.push(`-A ${n.SERVICES} -d ${ip}${m} -p ${p} ${c('external-ip')} -m ${p} --dport ${s.port} -j ${ext}`);
    for (const ip of s.loadBalancerIPs) services.push(`-A ${n.SERVICES} -d ${ip}${m} -p ${p} ${c('lb-ip')} -m ${p} --dport ${s.port} -j ${ext}`);
    if (s.nodePort !== null) nodePorts.push(`-A ${n.NODEPORTS} -p ${p} ${c('node-port')} -m ${p} --dport ${s.nodePort} -j ${ext}`);
  }
  return { services, nodePorts };
}

/**
 * How a service without any endpoint refuses a new connection. TCP gets a
 * reset: the kernel rate-limits ICMP (icmp_ratelimit), so a suppressed
 * port-unreachable left the client retrying its SYN for 1 s; a reset is not
 * rate-limited. UDP and SCTP keep port-unreachable (ECONNREFUSED on a
 * connected socket), as kube-proxy.
 */
export const noEndpointVerdict = (protocol: ServicePortState['protocol']) => (protocol === 'TCP' ? 'REJECT --reject-with tcp-reset' : 'REJECT');

/** filter rules: frontends whose endpoint list is empty reject (none at all) or drop (none local) */
export function filterRules(s: ServicePortState): string[] {
  const rules: string[] = [];
  const verdict = s.hasEndpoints ? 'DROP' : noEndpointVerdict(s.protocol);
  const c = (kind: n.FrontendKind) => `-m comment --comment ${n.safeComment(n.frontendComment(s.key, kind))}`;
  const p = proto(s);
  const m = hostMask(s.family);
  if (s.internal.length === 0) rules.push(`-A ${n.FILTER} -d ${s.clusterIP}${m} -p ${p} ${c('cluster-ip')} -m ${p} --dport ${s.port} -j ${verdict}`);
  if (hasExternalFrontends(s) && s.external.length === 0) {
    for (const ip of s.externalIPs) rules.push(`-A ${n.FILTER} -d ${ip}${m} -p ${p} ${c('external-ip')} -m ${p} --dport ${s.port} -j ${verdict}`);
    for (const ip of s.loadBalancerIPs) rules.push(`-A ${n.FILTER} -d ${ip}${m} -p ${p} ${c('lb-ip')} -m ${p} --dport ${s.port} -j ${verdict}`);
    if (s.nodePort !== null) rules.push(`-A ${n.FILTER} -p ${p} -m addrtype --dst-type LOCAL ${c('node-port')} -m ${p} --dport ${s.nodePort} -j ${verdict}`);
  }
  return rules;
}

export const nodePortsJump = `-A ${n.SERVICES} -m comment --comment "svcproxy node ports" -m addrtype --dst-type LOCAL -j ${n.NODEPORTS}`;

export function staticChains(o: RuleOptions): ChainRules {
  const bit = hex(o.masqBit);
  return new Map([
    [n.MARK_MASQ, [`-A ${n.MARK_MASQ} -j MARK --or-mark ${bit}`]],
    [
      n.POSTROUTING,
      [
        `-A ${n.POSTROUTING} -m mark ! --mark ${bit}/${bit} -j RETURN`,
        // Clear the bit so a re-routed packet is not masqueraded twice.
        `-A ${n.POSTROUTING} -j MARK --xor-mark ${bit}`,
        `-A ${n.POSTROUTING} -m comment --comment "svcproxy masquerade" -j MASQUERADE`,
      ],
    ],
  ]);
}
