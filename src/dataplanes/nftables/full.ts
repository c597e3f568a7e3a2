/**
 * A full sync of one family: build the other table name with every element
 * of the desired states, then swap it in (ruleset.ts). The IPv4 table is
 * always built; the IPv6 one only when IPv6 ports exist (a stale one is dropped).
 */
import type { Family, ServicePortState } from '../../plan/types.js';
import { ElementPacker, groupOps, type Elem } from './encode.js';
import { bump, hairpinElem, PICK_KINDS, PRECREATED_PICKS, SET_NAMES, type FamilyStep } from './family.js';
import { TABLE, TABLES, drawChain, familySyntax, pickChain, pickClass, type SetName } from './names.js';
import { drawRule, pickRules, portObjects, type MasqueradeOptions, type PortObjects } from './objects.js';
import { buildTable, dropTable, setSize, swapTables } from './ruleset.js';

export interface FullFamilyInput {
  family: Family;
  states: ServicePortState[];
  /** svcproxy tables present in this family, and the one hooked in */
  present: string[];
  live?: string;
  masq: MasqueradeOptions;
  /** pack elements as they come (apply) or keep them as ops (render) */
  pack: boolean;
}

/** The ports' elements sent to `sink`, and what the table needs besides them. */
interface Collected {
  ports: Map<string, ServicePortState>;
  hairpin: Map<string, number>;
  /** ports with their own chains (affinity) */
  special: PortObjects[];
  /** most endpoints of any list (pick chains are built up to its class) */
  most: number;
  chains: number;
}

function collectPorts(states: ServicePortState[], masq: MasqueradeOptions, sink: (e: Elem) => void): Collected {
  const c: Collected = { ports: new Map(), hairpin: new Map(), special: [], most: PRECREATED_PICKS, chains: 0 };
  for (const s of states) {
    const objects = portObjects(s, masq);
    c.ports.set(s.key, s);
    for (const a of objects.endpoints) bump(c.hairpin, a, 1);
    c.most = Math.max(c.most, s.internal.length, s.external.length);
    for (const e of objects.elements) sink(e);
    if (objects.chains.size > 0) c.special.push(objects);
    c.chains += objects.chains.size;
  }
  for (const a of c.hairpin.keys()) sink(hairpinElem(a));
  return c;
}

/** The shared pick chains (and their draw chains) for every kind, classes 1..pickClass(most). */
function sharedPicks(f: Family, most: number, masq: MasqueradeOptions): Map<string, string[]> {
  const fs = familySyntax(f);
  const picks = new Map<string, string[]>();
  for (const kind of PICK_KINDS) {
    for (let c = 1; c <= pickClass(most); c *= 2) {
      if (c > 1) picks.set(drawChain(kind, c), [drawRule(kind, c, fs)]);
      picks.set(pickChain(kind, c), pickRules(kind, c, fs, masq));
    }
  }
  return picks;
}

export function fullFamily(o: FullFamilyInput): FamilyStep {
  const f = o.family;
  if (f === 6 && o.states.length === 0) {
    return { pre: '', post: o.present.map((t) => dropTable(f, t)).join(''), undo: '', dels: [], adds: [], detail: {} };
  }
  const table = o.live === TABLE ? TABLES[1] : TABLE;
  // packed as they come when applying (no 300k objects kept); collected for render
  const packer = new ElementPacker('add', f, table);
  const elems: Elem[] = [];
  const got = collectPorts(o.states, o.masq, o.pack ? (e) => packer.push(e) : (e) => void elems.push(e));
  const picks = sharedPicks(f, got.most, o.masq);
  const counts = new Map<SetName, number>(SET_NAMES.map((n) => [n, packer.count(n)]));
  for (const e of elems) counts.set(e.set, counts.get(e.set)! + 1);
  const sizes = new Map([...counts].map(([n, c]) => [n, setSize(c)]));
  return {
    pre: buildTable(f, table, picks, got.special, sizes),
    post: swapTables(f, table, o.present.filter((t) => t !== table), o.masq.masqueradeBit),
    undo: dropTable(f, table),
    packer: o.pack ? packer : undefined,
    dels: [],
    adds: o.pack ? [] : groupOps('add', f, table, elems),
    memory: { table, ports: got.ports, classes: new Map(), hairpin: got.hairpin, picks: new Set(picks.keys()), counts, sizes },
    detail: { chains: got.chains + picks.size, elements: [...counts.values()].reduce((a, b) => a + b, 0) },
  };
}
