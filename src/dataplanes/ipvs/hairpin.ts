/**
 * Hairpin: an endpoint that reaches its own service and is picked itself.
 * IPVS rewrites only the destination, so the endpoint would answer itself
 * directly, not through IPVS, and the connection would never open. kube-proxy's
 * IPVS mode keeps every endpoint in the ipset KUBE-LOOP-BACK
 * (hash:ip,port,ip: endpoint, proto:port, endpoint) and masquerades what
 * matches `dst,dst,src` in POSTROUTING; svcproxy does the same with its own
 * set, SVP-LOOP-BACK (IPv4, like the masquerade chain).
 *
 * Only a packet whose source and destination are one address can match an
 * entry, and such a packet is hairpin traffic whichever endpoint the entry
 * was for: an entry left by an endpoint that went away is harmless. So a
 * change only adds entries for endpoints not in the set yet (a ready/not
 * ready flap adds nothing); a full sync builds the set anew and swaps it in.
 */
import { IPPROTO } from '../../native/ipvs.js';
import { ipsetApply, ipsetNames, type IpsetEntry, type IpsetOp } from '../../native/ipset.js';
import type { Netns } from '../../native/netns.js';
import type { ServicePortState } from '../../plan/types.js';

export const LOOP_BACK = 'SVP-LOOP-BACK';
/** the set a full sync fills before swapping it in */
const NEXT = 'SVP-LOOP-BACK-NEXT';
const TYPE = 'hash:ip,port,ip';

const entryKey = (e: IpsetEntry) => `${e.ip},${e.proto}:${e.port}`;

/** Entries for every IPv4 endpoint of these ports. */
export function loopbackEntries(states: Iterable<ServicePortState>): Map<string, IpsetEntry> {
  const out = new Map<string, IpsetEntry>();
  for (const s of states) {
    if (s.family !== 4) continue;
    for (const b of [...s.internal, ...s.external]) {
      const e = { ip: b.address, port: b.port, proto: IPPROTO[s.protocol], ip2: b.address };
      out.set(entryKey(e), e);
    }
  }
  return out;
}

const missing = (op: IpsetOp, code: string) => op.cmd === 'destroy' && code === 'ENOENT';

export class Hairpin {
  /** entries known to be in the kernel's set (a superset of what the last sync wanted) */
  private inSet = new Set<string>();
  private maxelem = 0;

  constructor(private readonly netns: Netns) {}

  /** Full sync: a new set with exactly these ports' endpoints, swapped in (packets see one or the other). */
  async rebuild(states: Iterable<ServicePortState>): Promise<number> {
    const entries = loopbackEntries(states);
    // room to grow by changes until the next full sync
    const maxelem = Math.max(65536, 2 ** Math.ceil(Math.log2(2 * entries.size + 1)));
    const create = (name: string): IpsetOp => ({ cmd: 'create', name, type: TYPE, revision: 1, family: 4, hashsize: 1024, maxelem });
    await ipsetApply(
      this.netns,
      [
        { cmd: 'destroy', name: NEXT },
        create(NEXT),
        ...[...entries.values()].map((entry): IpsetOp => ({ cmd: 'add', name: NEXT, entry })),
        // the first time there is nothing to swap with; a set of other sizes is swapped all the same
        create(LOOP_BACK),
        { cmd: 'swap', name: NEXT, name2: LOOP_BACK },
        { cmd: 'destroy', name: NEXT },
      ],
      (op, code) => missing(op, code) || (op.cmd === 'create' && op.name === LOOP_BACK && code === 'EEXIST'),
    );
    this.inSet = new Set(entries.keys());
    this.maxelem = maxelem;
    return entries.size;
  }

  /** A change: add the endpoints not in the set yet; false when the set is full (rebuild it). */
  async add(states: Iterable<ServicePortState>): Promise<boolean> {
    const fresh = [...loopbackEntries(states)].filter(([k]) => !this.inSet.has(k));
    if (fresh.length === 0) return true;
    if (this.inSet.size + fresh.length > this.maxelem) return false;
    await ipsetApply(
      this.netns,
      fresh.map(([, entry]) => ({ cmd: 'add', name: LOOP_BACK, entry })),
    );
    for (const [k] of fresh) this.inSet.add(k);
    return true;
  }

  /** Both sets go (after the masquerade chain that names them); a kernel without ipset has none. */
  async remove(): Promise<void> {
    const present = new Set(await ipsetNames(this.netns).catch(() => [] as string[]));
    const ours = [NEXT, LOOP_BACK].filter((n) => present.has(n));
    await ipsetApply(this.netns, ours.map((name): IpsetOp => ({ cmd: 'destroy', name })), missing);
    this.inSet = new Set();
    this.maxelem = 0;
  }
}
