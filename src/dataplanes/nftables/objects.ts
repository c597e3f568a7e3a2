/**
 * ServicePortState -> what implements it: map elements (the common case:
 * nothing else), the shared pick chains it points at, and, for ClientIP
 * affinity only, its own chains and timeout sets. Full and incremental syncs
 * are both assembled from these; the dataplane keeps them in memory to
 * compute the next delta without reading the kernel.
 *
 * Layout (per family table; O(1) per packet, chains independent of the
 * number of services):
 *   service-ips        clusterIP . proto . port -> goto cluster-<n> | drop | goto no-endpoints
 *                      externalIP/LB IP . proto . port -> goto external[-local]-<n> | ...
 *   service-nodeports  proto . nodePort -> goto nodeport[-local]-<n> | ...
 *   endpoints          frontend IP . proto . port . slot -> backend . port (slot < n)
 *   nodeport-endpoints proto . nodePort . slot -> backend . port
 *   cluster-<C> etc.   [masquerade mark] dnat to <frontend> . numgen random mod C map @...
 *                      (C: the power of two >= n, kept while n is in [C/2, C]; repeated draws, see PICK_DRAWS)
 *   cluster element comment "namespace/name <port name and policy bits>"
 *                      (the bits go to a service-meta element when that passes 127 characters)
 * ClientIP affinity ports go to their own svc-/ext- chains (per-endpoint
 * timeout sets, as kube-proxy) and still record their endpoints as slots.
 */
import type { Backend, ServicePortState } from '../../plan/types.js';
import type { Elem, Part, Proto, Verdict } from './encode.js';
import {
  ENDPOINTS,
  EXTERNAL_IP_COMMENT,
  EXTERNAL_RECORD_SLOT,
  LB_IP_COMMENT,
  NODEPORT_ENDPOINTS,
  NO_ENDPOINTS,
  SERVICE_IPS,
  SERVICE_META,
  SERVICE_NODEPORTS,
  affinitySet,
  epChain,
  extChain,
  familySyntax,
  metaComment,
  drawChain,
  pickChain,
  pickClass,
  svcChain,
  type FamilySyntax,
  type PickKind,
} from './names.js';

export interface MasqueradeOptions {
  clusterCIDR?: string;
  masqueradeAll: boolean;
  masqueradeBit: number;
}

export interface PortObjects {
  elements: Elem[];
  /** size classes of its pick verdicts */
  classes: PortClasses;
  /** shared pick chains this port's verdicts go to */
  picks: string[];
  /** affinity only: chain name -> rules, in order */
  chains: Map<string, string[]>;
  /** affinity only: set name -> declaration body */
  sets: Map<string, string>;
  /** endpoint addresses (for the hairpin set) */
  endpoints: string[];
}

/** nft takes element comments of up to 128 characters (NFTNL_UDATA_COMMENT_MAXLEN) */
export const COMMENT_MAX = 127;

const hex = (n: number) => `0x${n.toString(16)}`;
export const sameBackends = (a: Backend[], b: Backend[]) =>
  a.length === b.length && a.every((x, i) => x.address === b[i]!.address && x.port === b[i]!.port);

/** clusterCIDR applies to its own family only (a v4 CIDR says nothing about v6 sources) */
const cidrFor = (m: MasqueradeOptions, fs: FamilySyntax) =>
  m.clusterCIDR !== undefined && m.clusterCIDR.includes(':') === (fs.l3 === 'ip6') ? m.clusterCIDR : undefined;

const markRule = (m: MasqueradeOptions) => `meta mark set meta mark or ${hex(m.masqueradeBit)}`;

/**
 * Draws of a pick chain of class C >= 2: a port there has n in [C/2, C]
 * slots, so a draw `mod C` misses (slot >= n, no element: the lookup fails,
 * the rule and its chain end, and the caller's next rule runs) with
 * probability <= 1/2. Repeated draws are rejection sampling, uniform over the
 * n slots; after all of them miss (p <= 2^-16) slot 0 is taken.
 *
 * The draw is one rule in its own chain (<kind>-<C>-draw), jumped to
 * PICK_DRAWS times: every rule that looks up a map costs the kernel a check
 * per rule on each element added to it, and 16 draw rules per chain doubled
 * a 30k-port full sync (120k endpoint elements x ~400 rules).
 */
export const PICK_DRAWS = 16;

/** The size classes a port's verdicts use (0: that list is empty or unused). */
export interface PortClasses {
  internal: number;
  external: number;
}

/**
 * Class for n endpoints given the class the port had: kept while n stays in
 * [C/2, C] (a count flapping across a power of two changes the verdict once,
 * not on every flap), else the tight one, pickClass(n).
 */
export function classFor(n: number, had: number | undefined): number {
  if (n === 0) return 0;
  if (had !== undefined && n <= had && n * 2 >= had) return had;
  return pickClass(n);
}

/** Classes that differ from the tight ones (what a dataplane must remember per port). */
export const isTight = (s: ServicePortState, c: PortClasses): boolean =>
  c.internal === classFor(s.internal.length, undefined) && c.external === classFor(s.external.length, undefined);

/** The rules of a shared pick chain: masquerade policy, then the dnat draw(s) through the slot map. */
export function pickRules(kind: PickKind, size: number, fs: FamilySyntax, masq: MasqueradeOptions): string[] {
  const mark = markRule(masq);
  const rules: string[] = [];
  if (kind === 'cluster') {
    if (masq.masqueradeAll) rules.push(mark);
    else if (cidrFor(masq, fs)) rules.push(`${fs.l3} saddr != ${cidrFor(masq, fs)} ${mark}`);
  } else if (kind === 'external-local' || kind === 'nodeport-local') {
    // Local policy keeps the client address, except from this node itself (it would not return)
    rules.push(`fib saddr type local ${mark}`);
  } else rules.push(mark);
  // class 1 holds exactly 1 endpoint: the first draw always hits
  if (size === 1) rules.push(drawRule(kind, 1, fs));
  else rules.push(...new Array<string>(PICK_DRAWS).fill(`jump ${drawChain(kind, size)}`), drawRule(kind, 1, fs));
  return rules;
}

/** The one draw of a class: a dnat through the slot map with `numgen random mod size`. */
export function drawRule(kind: PickKind, size: number, fs: FamilySyntax): string {
  const frontend = kind.startsWith('nodeport') ? 'meta l4proto . th dport' : `${fs.l3} daddr . meta l4proto . th dport`;
  const map = kind.startsWith('nodeport') ? NODEPORT_ENDPOINTS : ENDPOINTS;
  return `dnat ${fs.l3} to ${frontend} . numgen random mod ${size} map @${map}`;
}

const addrPort = (fs: FamilySyntax, b: Backend) => (fs.l3 === 'ip' ? `${b.address}:${b.port}` : `[${b.address}]:${b.port}`);

/** Affinity chains pick with `numgen random mod N-i` per rule (few ports have affinity). */
function pickOne(targets: string[]): string[] {
  const n = targets.length;
  return targets.map((t, i) => (i < n - 1 ? `numgen random mod ${n - i} 0 ${t}` : t));
}

function affinityRules(s: ServicePortState, fs: FamilySyntax, list: Backend[], first: string): string[] {
  const rules = [first];
  if (list.length === 0) return [...rules, s.hasEndpoints ? 'drop' : `goto ${NO_ENDPOINTS}`];
  rules.push(...list.map((b) => `${fs.l3} saddr @${affinitySet(s, b)} goto ${epChain(s, b)}`));
  rules.push(...pickOne(list.map((b) => `goto ${epChain(s, b)}`)));
  return rules;
}

const PROTO: Record<ServicePortState['protocol'], Proto> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };
const DROP: Verdict = { kind: 'drop' };
const REJECT: Verdict = { kind: 'goto', chain: NO_ENDPOINTS };
/** verdicts are immutable: one object per pick chain, shared by all ports (30k ports, few chains) */
const gotoCache = new Map<string, Verdict>();
const goto = (chain: string): Verdict => {
  let v = gotoCache.get(chain);
  if (!v) gotoCache.set(chain, (v = { kind: 'goto', chain }));
  return v;
};
const NO_CHAINS: ReadonlyMap<string, string[]> = new Map();
const NO_SETS: ReadonlyMap<string, string> = new Map();

function pushSlots(out: Elem[], set: typeof ENDPOINTS | typeof NODEPORT_ENDPOINTS, head: Part[], base: number, list: Backend[]) {
  for (let i = 0; i < list.length; i++) {
    const key = head.length === 3 ? [head[0]!, head[1]!, head[2]!, base + i] : [head[0]!, head[1]!, base + i];
    out.push({ set, key, value: [list[i]!.address, list[i]!.port] });
  }
}

/** had: the classes the port's verdicts used before (incremental syncs), so they can stay. */
export function portObjects(s: ServicePortState, masq: MasqueradeOptions, had?: PortClasses): PortObjects {
  const proto = PROTO[s.protocol];
  const elements: Elem[] = [];
  const picks: string[] = [];
  const externalSame = sameBackends(s.internal, s.external);
  const affinity = s.affinitySeconds !== null;
  const classes: PortClasses = { internal: classFor(s.internal.length, had?.internal), external: classFor(s.external.length, had?.external) };
  const pick = (kind: PickKind, list: Backend[], size: number): Verdict => {
    if (list.length === 0) return s.hasEndpoints ? DROP : REJECT;
    const chain = pickChain(kind, size);
    if (!picks.includes(chain)) picks.push(chain);
    return goto(chain);
  };
  const special = affinity ? affinityObjects(s, masq) : undefined;
  const internalVerdict = special ? goto(svcChain(s)) : pick('cluster', s.internal, classes.internal);
  const externalVerdict = (nodePort: boolean) =>
    special ? goto(extChain(s)) : pick(nodePort ? (s.externalLocal ? 'nodeport-local' : 'nodeport') : s.externalLocal ? 'external-local' : 'external', s.external, classes.external);

  const clusterKey: Part[] = [s.clusterIP, proto, s.port];
  // "namespace/name <meta>" in one comment when it fits nft's limit, else the meta in service-meta
  const who = `${s.namespace}/${s.name}`;
  const meta = metaComment({
    portName: s.portName,
    affinitySeconds: s.affinitySeconds,
    externalLocal: s.externalLocal,
    hasEndpoints: s.hasEndpoints,
    nodePort: s.nodePort,
    externalSame,
  });
  const both = `${who} ${meta}`;
  const fits = both.length <= COMMENT_MAX;
  elements.push({ set: SERVICE_IPS, key: clusterKey, verdict: internalVerdict, comment: fits ? both : who });
  if (!fits) elements.push({ set: SERVICE_META, key: clusterKey, comment: meta });
  pushSlots(elements, ENDPOINTS, clusterKey, 0, s.internal);
  if (!externalSame) pushSlots(elements, ENDPOINTS, clusterKey, EXTERNAL_RECORD_SLOT, s.external);

  // affinity chains carry their endpoints as literals: no external slots for them
  for (const ip of s.externalIPs) {
    elements.push({ set: SERVICE_IPS, key: [ip, proto, s.port], verdict: externalVerdict(false), comment: `${EXTERNAL_IP_COMMENT} ${s.clusterIP}` });
    if (!affinity) pushSlots(elements, ENDPOINTS, [ip, proto, s.port], 0, s.external);
  }
  for (const ip of s.loadBalancerIPs) {
    elements.push({ set: SERVICE_IPS, key: [ip, proto, s.port], verdict: externalVerdict(false), comment: `${LB_IP_COMMENT} ${s.clusterIP}` });
    if (!affinity) pushSlots(elements, ENDPOINTS, [ip, proto, s.port], 0, s.external);
  }
  if (s.nodePort !== null) {
    elements.push({ set: SERVICE_NODEPORTS, key: [proto, s.nodePort], verdict: externalVerdict(true) });
    if (!affinity) pushSlots(elements, NODEPORT_ENDPOINTS, [proto, s.nodePort], 0, s.external);
  }
  return {
    elements,
    classes,
    picks,
    chains: (special?.chains ?? NO_CHAINS) as Map<string, string[]>,
    sets: (special?.sets ?? NO_SETS) as Map<string, string>,
    endpoints: endpointAddresses(s, externalSame),
  };
}

/** ClientIP affinity: the port's own svc-/ext- chains, an endpoint chain and a timeout set per endpoint. */
function affinityObjects(s: ServicePortState, masq: MasqueradeOptions) {
  const fs = familySyntax(s.family);
  const proto = PROTO[s.protocol];
  const chains = new Map<string, string[]>();
  const sets = new Map<string, string>();
  const hasExternal = s.nodePort !== null || s.externalIPs.length > 0 || s.loadBalancerIPs.length > 0;
  const mark = markRule(masq);
  const cidr = cidrFor(masq, fs);
  const svcFirst = masq.masqueradeAll ? mark : cidr ? `${fs.l3} saddr != ${cidr} ${mark}` : '';
  chains.set(svcChain(s), affinityRules(s, fs, s.internal, svcFirst).filter((r) => r !== ''));
  if (hasExternal) chains.set(extChain(s), affinityRules(s, fs, s.external, s.externalLocal ? `fib saddr type local ${mark}` : mark));
  for (const b of unionBackends(s.internal, s.external)) {
    sets.set(affinitySet(s, b), `type ${fs.addrType}; flags dynamic,timeout; timeout ${s.affinitySeconds}s;`);
    chains.set(epChain(s, b), [`update @${affinitySet(s, b)} { ${fs.l3} saddr }`, `meta l4proto ${proto} dnat ${fs.l3} to ${addrPort(fs, b)}`]);
  }
  return { chains, sets };
}

/** distinct endpoint addresses of both lists (the common case: one list of distinct addresses) */
function endpointAddresses(s: ServicePortState, externalSame: boolean): string[] {
  const out: string[] = [];
  for (const list of externalSame ? [s.internal] : [s.internal, s.external]) {
    for (const b of list) if (!out.includes(b.address)) out.push(b.address);
  }
  return out;
}

function unionBackends(a: Backend[], b: Backend[]): Backend[] {
  const seen = new Map<string, Backend>();
  for (const x of [...a, ...b]) seen.set(`${x.address}|${x.port}`, x);
  return [...seen.values()];
}
