/**
 * Assemble nft command text: the full load (one transaction that replaces
 * svcproxy's table and nothing else) and the incremental delta between two
 * sets of PortObjects (touches only the objects that differ).
 */
import type { Family } from '../../plan/types.js';
import { BASE_CHAINS, HAIRPIN, SERVICE_IPS, SERVICE_NODEPORTS, SERVICES, TABLE, familySyntax, quote } from './names.js';
import type { MapElement, PortObjects } from './objects.js';

const hex = (n: number) => `0x${n.toString(16)}`;
const tableRef = (f: Family) => `${familySyntax(f).table} ${TABLE}`;

/** The fixed part of the table: dispatch maps, hooks, masquerade. */
export function baseTable(family: Family, masqueradeBit: number): string {
  const fs = familySyntax(family);
  const bit = hex(masqueradeBit);
  return [
    `table ${tableRef(family)} {`,
    `\tmap ${SERVICE_IPS} { type ${fs.addrType} . inet_proto . inet_service : verdict; }`,
    `\tmap ${SERVICE_NODEPORTS} { type inet_proto . inet_service : verdict; }`,
    `\tset ${HAIRPIN} { type ${fs.addrType} . ${fs.addrType}; }`,
    `\tchain ${SERVICES} {`,
    `\t\t${fs.l3} daddr . meta l4proto . th dport vmap @${SERVICE_IPS}`,
    `\t\tfib daddr type local ${fs.l3} daddr != ${fs.loopback} meta l4proto . th dport vmap @${SERVICE_NODEPORTS}`,
    `\t}`,
    `\tchain ${BASE_CHAINS[0]} { type nat hook prerouting priority dstnat; policy accept; jump ${SERVICES}; }`,
    `\tchain ${BASE_CHAINS[1]} { type nat hook output priority -100; policy accept; jump ${SERVICES}; }`,
    `\tchain ${BASE_CHAINS[2]} {`,
    `\t\ttype nat hook postrouting priority srcnat; policy accept;`,
    `\t\tmeta mark and ${bit} == ${bit} meta mark set meta mark xor ${bit} masquerade fully-random`,
    // hairpin: an endpoint reaching its own service, source == destination after DNAT
    `\t\tct status dnat ${fs.l3} saddr . ${fs.l3} daddr @${HAIRPIN} masquerade fully-random`,
    `\t}`,
    `}`,
  ].join('\n');
}

const hairpinElem = (a: string) => `${a} . ${a}`;

function elementCommands(verb: 'add' | 'delete', family: Family, elems: MapElement[], hairpin: string[]): string[] {
  const out: string[] = [];
  for (const map of [SERVICE_IPS, SERVICE_NODEPORTS] as const) {
    const list = elems.filter((e) => e.map === map).map((e) => (verb === 'add' ? e.text : e.key));
    if (list.length > 0) out.push(`${verb} element ${tableRef(family)} ${map} { ${list.join(', ')} }`);
  }
  if (hairpin.length > 0) out.push(`${verb} element ${tableRef(family)} ${HAIRPIN} { ${hairpin.map(hairpinElem).join(', ')} }`);
  return out;
}

/** Replace the whole table atomically: create-if-missing, delete, recreate. */
export function fullLoad(family: Family, masqueradeBit: number, ports: PortObjects[]): string {
  const lines = [`add table ${tableRef(family)}`, `delete table ${tableRef(family)}`, baseTable(family, masqueradeBit)];
  if (ports.length > 0) {
    lines.push(`table ${tableRef(family)} {`);
    for (const p of ports) {
      for (const [name, decl] of p.sets) lines.push(`\tset ${quote(name)} { ${decl} }`);
      for (const [name, rules] of p.chains) lines.push(`\tchain ${quote(name)} {\n\t\t${rules.join('\n\t\t')}\n\t}`);
    }
    lines.push('}');
  }
  const elems = ports.flatMap((p) => p.elements);
  const hairpin = [...new Set(ports.flatMap((p) => p.endpoints))];
  lines.push(...elementCommands('add', family, elems, hairpin));
  return lines.join('\n') + '\n';
}

const sameRules = (a: string[] | undefined, b: string[] | undefined) =>
  a !== undefined && b !== undefined && a.length === b.length && a.every((r, i) => r === b[i]);

export interface Delta {
  text: string;
  /** objects written or deleted, for ApplyStats */
  counts: { chains: number; sets: number; elements: number };
}

/**
 * Commands that turn `before` into `after` (only the touched ports), in an
 * order the kernel accepts within one transaction: unreference, flush,
 * delete, create, fill.
 */
export function delta(family: Family, before: PortObjects[], after: PortObjects[], hairpinGone: string[], hairpinNew: string[]): Delta {
  const t = tableRef(family);
  const merge = <V>(list: PortObjects[], pick: (p: PortObjects) => Map<string, V>) => {
    const m = new Map<string, V>();
    for (const p of list) for (const [k, v] of pick(p)) m.set(k, v);
    return m;
  };
  const chainsA = merge(before, (p) => p.chains);
  const chainsB = merge(after, (p) => p.chains);
  const setsA = merge(before, (p) => p.sets);
  const setsB = merge(after, (p) => p.sets);
  const elemId = (e: MapElement) => `${e.map}|${e.text}`;
  const elemsA = new Map(before.flatMap((p) => p.elements).map((e) => [elemId(e), e]));
  const elemsB = new Map(after.flatMap((p) => p.elements).map((e) => [elemId(e), e]));

  const elemsGone = [...elemsA].filter(([id]) => !elemsB.has(id)).map(([, e]) => e);
  const elemsNew = [...elemsB].filter(([id]) => !elemsA.has(id)).map(([, e]) => e);
  const setsGone = [...setsA.keys()].filter((n) => setsB.get(n) !== setsA.get(n));
  const setsNew = [...setsB.keys()].filter((n) => setsA.get(n) !== setsB.get(n));
  // a set can only be replaced once no rule refers to it: rewrite its users too
  const refsGoneSet = (rules: string[]) => setsGone.some((n) => rules.some((r) => r.includes(`@${quote(n)}`)));
  const chainsRewritten = [...chainsB.keys()].filter(
    (n) => chainsA.has(n) && (!sameRules(chainsA.get(n), chainsB.get(n)) || refsGoneSet(chainsA.get(n)!)),
  );
  const chainsGone = [...chainsA.keys()].filter((n) => !chainsB.has(n));
  const chainsNew = [...chainsB.keys()].filter((n) => !chainsA.has(n));

  const lines: string[] = [];
  lines.push(...elementCommands('delete', family, elemsGone, hairpinGone));
  for (const n of [...chainsRewritten, ...chainsGone]) lines.push(`flush chain ${t} ${quote(n)}`);
  for (const n of chainsGone) lines.push(`delete chain ${t} ${quote(n)}`);
  for (const n of setsGone) lines.push(`delete set ${t} ${quote(n)}`);
  for (const n of setsNew) lines.push(`add set ${t} ${quote(n)} { ${setsB.get(n)} }`);
  for (const n of chainsNew) lines.push(`add chain ${t} ${quote(n)}`);
  for (const n of [...chainsNew, ...chainsRewritten]) for (const r of chainsB.get(n)!) lines.push(`add rule ${t} ${quote(n)} ${r}`);
  lines.push(...elementCommands('add', family, elemsNew, hairpinNew));
  return {
    text: lines.length > 0 ? lines.join('\n') + '\n' : '',
    counts: {
      chains: chainsRewritten.length + chainsGone.length + chainsNew.length,
      sets: setsGone.length + setsNew.length,
      elements: elemsGone.length + elemsNew.length + hairpinGone.length + hairpinNew.length,
    },
  };
}
