/**
 * The filter half of IPVS mode: kube-proxy's KUBE-IPVS-FILTER (#72236) and a
 * refusal at once for services without endpoints. An owned chain in the
 * filter table's INPUT, which runs before IPVS's own LOCAL_IN hook, over
 * three ipsets (IPv4):
 * - SVP-IPVS-NOEP (hash:ip,port): frontends of ports with no endpoint at
 *   all. TCP gets a reset, the rest port-unreachable: IPVS answers a
 *   virtual server without real servers with ICMP itself, and the kernel
 *   rate-limits ICMP, so a client waited ~1 s for its SYN retry.
 * - SVP-IPVS-SERVICES (hash:ip,port): every defined frontend on a bound VIP
 *   (cluster, external and load-balancer IPs): allowed through to IPVS.
 * - SVP-IPVS-VIPS (hash:ip): every VIP bound on the holder. A new
 *   connection to one on any other port is refused, so host services
 *   listening on 0.0.0.0 do not answer on ClusterIP:any-port.
 * A full sync fills new sets and swaps them in; a change adds and deletes
 * the entries of the changed ports only.
 */
import { IPPROTO } from '../../native/ipvs.js';
import { ipsetApply, ipsetNames, type IpsetEntry, type IpsetOp } from '../../native/ipset.js';
import type { Netns } from '../../native/netns.js';
import type { IptablesBackend } from '../netfilter/runner.js';
import type { ServicePortState } from '../../plan/types.js';

export const FILTER_CHAIN = 'SVP-IPVS-FILTER';
export const NO_ENDPOINTS = 'SVP-IPVS-NOEP';
export const SERVICES = 'SVP-IPVS-SERVICES';
export const VIPS = 'SVP-IPVS-VIPS';
const JUMP = `-m comment --comment "svcproxy ipvs filter" -j ${FILTER_CHAIN}`;
const SETS = [
  { name: NO_ENDPOINTS, type: 'hash:ip,port' },
  { name: SERVICES, type: 'hash:ip,port' },
  { name: VIPS, type: 'hash:ip' },
] as const;
const next = (name: string) => `${name}-N`;

export function filterRules(): string[] {
  const reject = (match: string) => [
    `-A ${FILTER_CHAIN} -p tcp ${match} -j REJECT --reject-with tcp-reset`,
    `-A ${FILTER_CHAIN} ${match} -j REJECT --reject-with icmp-port-unreachable`,
  ];
  return [
    ...reject(`-m set --match-set ${NO_ENDPOINTS} dst,dst`),
    `-A ${FILTER_CHAIN} -m set --match-set ${SERVICES} dst,dst -j RETURN`,
    // NEW only, as kube-proxy: packets of connections already there are not cut
    ...reject(`-m conntrack --ctstate NEW -m set --match-set ${VIPS} dst`),
  ];
}

const v4 = (a: string) => !a.includes(':');
const key = (e: IpsetEntry) => `${e.ip},${e.proto ?? ''}:${e.port ?? ''}`;

/** Each frontend on a VIP (not node ports: node addresses are the host's own). */
function vipFrontends(s: ServicePortState): { ip: string; backends: number }[] {
  return [
    { ip: s.clusterIP, backends: s.internal.length },
    ...[...s.externalIPs, ...s.loadBalancerIPs].map((ip) => ({ ip, backends: s.external.length })),
  ];
}

export interface FilterEntries {
  noEndpoints: Map<string, IpsetEntry>;
  services: Map<string, IpsetEntry>;
}

/** The port-keyed entries of these ports (IPv4 ones). */
export function filterEntries(states: Iterable<ServicePortState>, nodeIPs: string[]): FilterEntries {
  const out: FilterEntries = { noEndpoints: new Map(), services: new Map() };
  const put = (m: Map<string, IpsetEntry>, e: IpsetEntry) => m.set(key(e), e);
  for (const s of states) {
    if (s.family !== 4) continue;
    const proto = IPPROTO[s.protocol];
    for (const f of vipFrontends(s)) {
      const e = { ip: f.ip, port: s.port, proto };
      put(out.services, e);
      // none at all: a port with endpoints elsewhere only (policy Local) is left to IPVS
      if (f.backends === 0 && !s.hasEndpoints) put(out.noEndpoints, e);
    }
    if (s.nodePort !== null && s.external.length === 0 && !s.hasEndpoints) {
      for (const ip of nodeIPs.filter(v4)) put(out.noEndpoints, { ip, port: s.nodePort, proto });
    }
  }
  return out;
}

const addOps = (name: string, m: Map<string, IpsetEntry>) => [...m.values()].map((entry): IpsetOp => ({ cmd: 'add', name, entry }));
const delOps = (name: string, m: Map<string, IpsetEntry>) => [...m.values()].map((entry): IpsetOp => ({ cmd: 'del', name, entry }));
const minus = (a: Map<string, IpsetEntry>, b: Map<string, IpsetEntry>) => new Map([...a].filter(([k]) => !b.has(k)));
/** A VIP that is also a node address (an external IP set to the node's own) is not filtered: its other ports are the host's. */
export const vipEntries = (vips: Iterable<string>, nodeIPs: string[]) =>
  new Map([...vips].filter((ip) => v4(ip) && !nodeIPs.includes(ip)).map((ip) => [ip, { ip }]));
const missing = (op: IpsetOp, code: string) => (op.cmd === 'destroy' && code === 'ENOENT') || (op.cmd === 'del' && code === 'IPSET_ERR_EXIST');

export class IpvsFilter {
  constructor(private readonly netns: Netns) {}

  /** Full sync: new sets with exactly these entries, swapped in (packets see one or the other). */
  async rebuild(states: Iterable<ServicePortState>, o: { nodeIPs: string[]; vips: Iterable<string> }): Promise<number> {
    const e = filterEntries(states, o.nodeIPs);
    const fill: Record<string, Map<string, IpsetEntry>> = { [NO_ENDPOINTS]: e.noEndpoints, [SERVICES]: e.services, [VIPS]: vipEntries(o.vips, o.nodeIPs) };
    const ops: IpsetOp[] = [];
    for (const { name, type } of SETS) {
      const m = fill[name]!;
      const maxelem = Math.max(65536, 2 ** Math.ceil(Math.log2(2 * m.size + 1)));
      const create = (n: string): IpsetOp => ({ cmd: 'create', name: n, type, revision: 1, family: 4, hashsize: 1024, maxelem });
      // the first time there is nothing to swap with; a set of another size swaps all the same
      ops.push({ cmd: 'destroy', name: next(name) }, create(next(name)), ...addOps(next(name), m), create(name));
      ops.push({ cmd: 'swap', name: next(name), name2: name }, { cmd: 'destroy', name: next(name) });
    }
    await ipsetApply(this.netns, ops, (op, code) => missing(op, code) || (op.cmd === 'create' && code === 'EEXIST'));
    return Object.values(fill).reduce((n, m) => n + m.size, 0);
  }

  /**
   * A change: entries of the ports before it go, those after it come, and
   * VIPs as their routes did. Allowed frontends are added before the VIPs
   * that would refuse them, and VIPs go before their frontends.
   */
  async update(c: { before: ServicePortState[]; after: ServicePortState[]; nodeIPs: string[]; vips: { add: string[]; del: string[] } }): Promise<void> {
    const was = filterEntries(c.before, c.nodeIPs);
    const now = filterEntries(c.after, c.nodeIPs);
    const ops: IpsetOp[] = [
      ...addOps(SERVICES, minus(now.services, was.services)),
      ...delOps(NO_ENDPOINTS, minus(was.noEndpoints, now.noEndpoints)),
      ...addOps(NO_ENDPOINTS, minus(now.noEndpoints, was.noEndpoints)),
      ...addOps(VIPS, vipEntries(c.vips.add, c.nodeIPs)),
      ...delOps(VIPS, vipEntries(c.vips.del, c.nodeIPs)),
      ...delOps(SERVICES, minus(was.services, now.services)),
    ];
    if (ops.length > 0) await ipsetApply(this.netns, ops, missing);
  }

  /** The sets go (after the chain that names them); a kernel without ipset has none. */
  async remove(): Promise<void> {
    const present = new Set(await ipsetNames(this.netns).catch(() => [] as string[]));
    const ours = SETS.flatMap((s) => [s.name, next(s.name)]).filter((n) => present.has(n));
    await ipsetApply(this.netns, ours.map((name): IpsetOp => ({ cmd: 'destroy', name })), missing);
  }
}

/** Rewrite svcproxy's filter chain (only it) and add the jump from INPUT once; the sets must exist. */
export async function syncFilterChain(b: IptablesBackend): Promise<void> {
  const save = await b.save('filter');
  const jump = save.includes(`-A INPUT ${JUMP}`) ? [] : [`-I INPUT 1 ${JUMP}`];
  await b.restore(['*filter', `:${FILTER_CHAIN} - [0:0]`, ...filterRules(), ...jump, 'COMMIT', ''].join('\n'));
}

export async function removeFilterChain(b: IptablesBackend): Promise<void> {
  const save = await b.save('filter');
  if (!save.includes(`:${FILTER_CHAIN} `)) return;
  const lines = ['*filter', `:${FILTER_CHAIN} - [0:0]`];
  if (save.includes(`-A INPUT ${JUMP}`)) lines.push(`-D INPUT ${JUMP}`);
  lines.push(`-X ${FILTER_CHAIN}`, 'COMMIT', '');
  await b.restore(lines.join('\n'));
}
