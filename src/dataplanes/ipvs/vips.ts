/**
 * The interface that holds the VIPs, so the node accepts their traffic and
 * IPVS (on LOCAL_IN) sees it: a dummy interface `svcproxy0` where the kernel
 * has CONFIG_DUMMY (UML does), else `lo`. A VIP is a host route of type
 * local in the local table (`local 10.96.0.1 dev svcproxy0 table local`),
 * not an interface address: the kernel delivers it locally and answers ARP
 * for it all the same, but inserting an address walks the device's whole
 * address list (30,000 VIPs: a minute in UML), a route is one trie insert.
 * Our routes carry protocol VIP_PROTO; on `lo` only the ones svcproxy
 * recorded are ever removed. Programmed over rtnetlink in batches
 * (native/ipvs/routes.cc) inside the namespace.
 */
import { SvcproxyError } from '../../errors.js';
import { run } from '../../native/exec.js';
import type { Netns } from '../../native/netns.js';
import type { IpvsClient } from '../../native/ipvs.js';

export const DUMMY = 'svcproxy0';
/** rtm_protocol of svcproxy's VIP routes (a private number, above RTPROT_* of linux/rtnetlink.h in use) */
export const VIP_PROTO = 0xa5;

export interface Holder {
  dev: string;
  dummy: boolean;
}

/** Create svcproxy0, or fall back to lo when the kernel has no dummy driver. */
export async function ensureHolder(netns: Netns): Promise<Holder> {
  const show = await run(['ip', 'link', 'show', DUMMY], { netns, allowFailure: true });
  if (show.status === 0) return { dev: DUMMY, dummy: true };
  const add = await run(['ip', 'link', 'add', DUMMY, 'type', 'dummy'], { netns, allowFailure: true });
  if (add.status !== 0) return { dev: 'lo', dummy: false };
  await run(['ip', 'link', 'set', DUMMY, 'up'], { netns, op: 'ip link' });
  return { dev: DUMMY, dummy: true };
}

/** Host addresses on the holder (svcproxy bound VIPs as addresses before it used routes). */
export async function holderAddresses(netns: Netns, dev: string): Promise<Set<string>> {
  const r = await run(['ip', '-j', 'addr', 'show', 'dev', dev], { netns, allowFailure: true });
  if (r.status !== 0) return new Set();
  const links = JSON.parse(r.out || '[]') as { addr_info?: { local: string; prefixlen: number }[] }[];
  const full = (a: { local: string; prefixlen: number }) => a.prefixlen === (a.local.includes(':') ? 128 : 32);
  return new Set(links.flatMap((l) => (l.addr_info ?? []).filter(full).map((a) => a.local)));
}

/** The VIP routes on the holder: local host routes of protocol VIP_PROTO, both families. */
export async function holderVIPs(ipvs: IpvsClient, dev: string): Promise<Set<string>> {
  return new Set(await ipvs.vipList({ dev, protocol: VIP_PROTO }));
}

/** Remove host addresses from the holder, in one ip -batch. */
export async function deleteAddresses(netns: Netns, dev: string, del: string[]): Promise<void> {
  if (del.length === 0) return;
  const plen = (a: string) => (a.includes(':') ? 128 : 32);
  await run(['ip', '-batch', '-'], { netns, input: del.map((a) => `address del ${a}/${plen(a)} dev ${dev}`).join('\n') + '\n', op: 'ip address' });
}

/**
 * Add (create or replace) and remove VIP routes on the holder, in rtnetlink
 * batches. A route already gone is what a removal wants (ESRCH); any other
 * failure rejects, naming the first VIP and its errno.
 */
export async function syncVIPRoutes(ipvs: IpvsClient, dev: string, add: string[], del: string[]): Promise<void> {
  const { errors } = await ipvs.vipRoutes({ dev, protocol: VIP_PROTO, add, del });
  const bad = errors.filter((e) => !(e.index < del.length && (e.code === 'ESRCH' || e.code === 'ENOENT')));
  if (bad.length === 0) return;
  const e = bad[0]!;
  const what = e.index < del.length ? `delete VIP route ${del[e.index]}` : `add VIP route ${add[e.index - del.length]}`;
  throw new SvcproxyError(`ipvs: ${what} on ${dev} failed: ${e.code}${bad.length > 1 ? ` (and ${bad.length - 1} more)` : ''}`, {
    code: e.code,
    errno: e.errno,
    op: 'ipvs.routes',
    mode: 'ipvs',
  });
}

export async function deleteDummy(netns: Netns): Promise<void> {
  await run(['ip', 'link', 'del', DUMMY], { netns, allowFailure: true });
}

/** The node's own addresses (node ports answer there): global addresses outside the holder. */
export async function nodeAddresses(netns: Netns): Promise<string[]> {
  const r = await run(['ip', '-j', 'addr', 'show'], { netns, op: 'ip address' });
  const links = JSON.parse(r.out || '[]') as { ifname: string; addr_info?: { local: string; scope: string }[] }[];
  return links
    .filter((l) => l.ifname !== DUMMY && l.ifname !== 'lo')
    .flatMap((l) => (l.addr_info ?? []).filter((a) => a.scope === 'global').map((a) => a.local))
    .sort();
}

/**
 * How many desired service ports use each VIP (ports of one service share
 * their cluster IP), so a change knows which addresses to bind or unbind
 * without listing the holder's 30,000 addresses.
 */
export class VipRefs {
  private readonly count = new Map<string, number>();

  constructor(vips: string[]) {
    for (const a of vips) this.count.set(a, (this.count.get(a) ?? 0) + 1);
  }

  addresses(): Set<string> {
    return new Set(this.count.keys());
  }

  /** Drop the uses in `before`, add those in `after`; the addresses that appear and disappear. */
  change(before: string[], after: string[]): { add: string[]; del: string[] } {
    const touched = new Map<string, number>();
    for (const a of [...before, ...after]) if (!touched.has(a)) touched.set(a, this.count.get(a) ?? 0);
    for (const a of before) this.count.set(a, (this.count.get(a) ?? 0) - 1);
    for (const a of after) this.count.set(a, (this.count.get(a) ?? 0) + 1);
    const add: string[] = [];
    const del: string[] = [];
    for (const [a, was] of touched) {
      const now = this.count.get(a)!;
      if (now <= 0) this.count.delete(a);
      if (was <= 0 && now > 0) add.push(a);
      if (was > 0 && now <= 0) del.push(a);
    }
    return { add, del };
  }
}
