/**
 * nft command text for the structure (tables, the few chains, affinity
 * chains). Elements never go through text on the way to the kernel (see
 * encode.ts), so libnftables only ever parses a handful of objects.
 *
 * A full sync replaces the table without a gap and all-or-nothing across
 * three kernel calls, by building the other table name and swapping:
 *   1. build   `table T'` (maps, chains; no hooks yet, so it sees no packet)
 *   2. fill    all elements of T' (one netlink batch)
 *   3. swap    add T''s hook chains and delete T, in one transaction
 * If 2 or 3 fails, T' is deleted and T was never touched.
 */
import type { Family } from '../../plan/types.js';
import {
  ENDPOINTS,
  HAIRPIN,
  HOOK_CHAINS,
  NODEPORT_ENDPOINTS,
  NO_ENDPOINTS,
  SERVICE_IPS,
  SERVICE_META,
  SERVICE_NODEPORTS,
  SERVICES,
  familySyntax,
  type SetName,
} from './names.js';
import type { PortObjects } from './objects.js';

const hex = (n: number) => `0x${n.toString(16)}`;
export const tableRef = (f: Family, table: string) => `${familySyntax(f).table} ${table}`;

/** `add` then `delete`: one transaction that succeeds whether or not the table exists. */
export const dropTable = (f: Family, table: string) => `add table ${tableRef(f, table)}\ndelete table ${tableRef(f, table)}\n`;

const chainBlock = (name: string, rules: string[]) => `\tchain ${name} {\n${rules.map((r) => `\t\t${r}\n`).join('')}\t}`;

/**
 * Room to declare for a set holding `count` elements. A declared size makes
 * the kernel pick its fixed-size hash (no rehashing while 300k elements load:
 * 2.7x faster than the resizable one, measured) and caps the element count,
 * so the dataplane rebuilds before a delta would pass it.
 */
export const setSize = (count: number) => 2 ** Math.ceil(Math.log2(Math.max(1 << 16, count * 2)));

/** Step 1: the table without hooks: maps, dispatch, the shared and affinity chains. */
export function buildTable(f: Family, table: string, picks: Map<string, string[]>, ports: Iterable<PortObjects>, sizes: Map<SetName, number>): string {
  const fs = familySyntax(f);
  const size = (n: SetName) => ` size ${sizes.get(n)};`;
  const lines = [
    dropTable(f, table).trimEnd(),
    `table ${tableRef(f, table)} {`,
    `\tmap ${SERVICE_IPS} { type ${fs.addrType} . inet_proto . inet_service : verdict;${size(SERVICE_IPS)} }`,
    `\tmap ${SERVICE_NODEPORTS} { type inet_proto . inet_service : verdict;${size(SERVICE_NODEPORTS)} }`,
    // value `tcp dport`, not `th dport`: the same inet_service bytes for every protocol, and
    // libnftables 1.0.6 cannot add rules later against a kernel map typed `th dport` ("conflicting protocols")
    `\tmap ${ENDPOINTS} { typeof ${fs.l3} daddr . meta l4proto . th dport . numgen random mod 1 : ${fs.l3} daddr . tcp dport;${size(ENDPOINTS)} }`,
    `\tmap ${NODEPORT_ENDPOINTS} { typeof meta l4proto . th dport . numgen random mod 1 : ${fs.l3} daddr . tcp dport;${size(NODEPORT_ENDPOINTS)} }`,
    `\tset ${SERVICE_META} { type ${fs.addrType} . inet_proto . inet_service;${size(SERVICE_META)} }`,
    `\tset ${HAIRPIN} { type ${fs.addrType} . ${fs.addrType};${size(HAIRPIN)} }`,
    chainBlock(SERVICES, [
      `${fs.l3} daddr . meta l4proto . th dport vmap @${SERVICE_IPS}`,
      `fib daddr type local ${fs.l3} daddr != ${fs.loopback} meta l4proto . th dport vmap @${SERVICE_NODEPORTS}`,
    ]),
    // TCP gets a reset: ICMP port-unreachable is rate-limited (icmp_ratelimit) and a suppressed one
    // leaves the client retrying its SYN for 1 s; UDP and SCTP keep port-unreachable
    chainBlock(NO_ENDPOINTS, ['meta l4proto tcp reject with tcp reset', 'reject']),
  ];
  for (const [name, rules] of picks) lines.push(chainBlock(name, rules));
  for (const p of ports) {
    for (const [name, decl] of p.sets) lines.push(`\tset ${name} { ${decl} }`);
    for (const [name, rules] of p.chains) lines.push(chainBlock(name, rules));
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

/** Step 3: hook the new table in and delete the old one, atomically. */
export function swapTables(f: Family, table: string, old: readonly string[], masqueradeBit: number): string {
  const fs = familySyntax(f);
  const bit = hex(masqueradeBit);
  const lines = [
    `table ${tableRef(f, table)} {`,
    `\tchain ${HOOK_CHAINS[0]} { type nat hook prerouting priority dstnat; policy accept; jump ${SERVICES}; }`,
    `\tchain ${HOOK_CHAINS[1]} { type nat hook output priority -100; policy accept; jump ${SERVICES}; }`,
    `\tchain ${HOOK_CHAINS[2]} {`,
    `\t\ttype nat hook postrouting priority srcnat; policy accept;`,
    `\t\tmeta mark and ${bit} == ${bit} meta mark set meta mark xor ${bit} masquerade fully-random`,
    // hairpin: an endpoint reaching its own service, source == destination after DNAT
    `\t\tct status dnat ${fs.l3} saddr . ${fs.l3} daddr @${HAIRPIN} masquerade fully-random`,
    `\t}`,
    `}`,
  ];
  return lines.join('\n') + '\n' + old.map((t) => dropTable(f, t)).join('');
}

const sameRules = (a: string[] | undefined, b: string[] | undefined) =>
  a !== undefined && b !== undefined && a.length === b.length && a.every((r, i) => r === b[i]);

export interface ChainDelta {
  /** before the element batch: new and rewritten chains/sets (nothing the old elements need is removed) */
  pre: string;
  /** after the batch: chains and sets no element refers to any more */
  post: string;
  chains: number;
  sets: number;
}

/**
 * Structure changes of an incremental sync: the affinity chains/sets of the
 * touched ports (shared pick chains exist from the full sync).
 */
export function chainDelta(f: Family, table: string, before: PortObjects[], after: PortObjects[]): ChainDelta {
  const t = tableRef(f, table);
  const merge = <V>(list: PortObjects[], pick: (p: PortObjects) => Map<string, V>) => {
    const m = new Map<string, V>();
    for (const p of list) for (const [k, v] of pick(p)) m.set(k, v);
    return m;
  };
  const chainsA = merge(before, (p) => p.chains);
  const chainsB = merge(after, (p) => p.chains);
  const setsA = merge(before, (p) => p.sets);
  const setsB = merge(after, (p) => p.sets);
  const setsReplaced = [...setsB.keys()].filter((n) => setsA.has(n) && setsA.get(n) !== setsB.get(n));
  const setsNew = [...setsB.keys()].filter((n) => !setsA.has(n));
  const setsGone = [...setsA.keys()].filter((n) => !setsB.has(n));
  // a set can only be replaced once no rule refers to it: rewrite its users too
  const refsReplaced = (rules: string[]) => setsReplaced.some((n) => rules.some((r) => r.includes(`@${n}`)));
  const rewritten = [...chainsB.keys()].filter((n) => chainsA.has(n) && (!sameRules(chainsA.get(n), chainsB.get(n)) || refsReplaced(chainsA.get(n)!)));
  const chainsNew = [...chainsB.keys()].filter((n) => !chainsA.has(n));
  const chainsGone = [...chainsA.keys()].filter((n) => !chainsB.has(n));

  const pre: string[] = [];
  for (const n of rewritten) pre.push(`flush chain ${t} ${n}`);
  // chains about to go may refer to a replaced set: empty them now (nothing reaches them but stale verdicts)
  for (const n of chainsGone) if (refsReplaced(chainsA.get(n)!)) pre.push(`flush chain ${t} ${n}`);
  for (const n of setsReplaced) pre.push(`delete set ${t} ${n}`);
  for (const n of [...setsReplaced, ...setsNew]) pre.push(`add set ${t} ${n} { ${setsB.get(n)} }`);
  for (const n of chainsNew) pre.push(`add chain ${t} ${n}`);
  for (const n of [...chainsNew, ...rewritten]) for (const r of chainsB.get(n)!) pre.push(`add rule ${t} ${n} ${r}`);

  const post: string[] = [];
  for (const n of chainsGone) post.push(`flush chain ${t} ${n}`);
  for (const n of chainsGone) post.push(`delete chain ${t} ${n}`);
  for (const n of setsGone) post.push(`delete set ${t} ${n}`);
  const text = (l: string[]) => (l.length ? l.join('\n') + '\n' : '');
  return {
    pre: text(pre),
    post: text(post),
    chains: rewritten.length + chainsNew.length + chainsGone.length,
    sets: setsReplaced.length * 2 + setsNew.length + setsGone.length,
  };
}
