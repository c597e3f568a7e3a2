/**
 * The fake's ruleset: tables of chains (rules kept as text) and sets with
 * their elements (kept as the packed bytes the kernel would dump), and the
 * checks the kernel makes on the commands svcproxy sends: a missing object
 * is ENOENT, a chain still jumped to or a set still used by a rule is EBUSY,
 * a redeclared set of another type EEXIST. Commands apply to a copy that
 * replaces the ruleset only when every one succeeded (one transaction).
 */
import type { ChainDecl, Command, SetDecl, TableRef } from './script.js';
import { Refused } from './refused.js';
import { keyAndData } from './types.js';

export interface FakeElem {
  /** the packed `elem` (native/nft/packed.h), as a dump returns it */
  bytes: Uint8Array;
  /** the chain its verdict goes to (a reference: the chain cannot be deleted) */
  chain?: string;
}

export interface FakeSet {
  kind: 'set' | 'map';
  /** the declaration, normalised (a redeclaration must match it) */
  decl: string;
  keyLen: number;
  /** maps: 'verdict' or the value's length */
  data?: 'verdict' | number;
  size?: number;
  elems: Map<string, FakeElem>;
}

export interface FakeChain {
  base?: ChainDecl['base'];
  rules: string[];
  handle: number;
}

export interface FakeTable {
  family: string;
  name: string;
  sets: Map<string, FakeSet>;
  chains: Map<string, FakeChain>;
}

export const tableKey = (t: TableRef) => `${t.family} ${t.name}`;

const setRefs = (rule: string) => [...rule.matchAll(/@([A-Za-z0-9_./-]+)/g)].map((m) => m[1]!);
const chainRefs = (rule: string) => [...rule.matchAll(/\b(?:jump|goto) ([A-Za-z0-9_./-]+)/g)].map((m) => m[1]!);

export class FakeRuleset {
  tables = new Map<string, FakeTable>();
  private handles = 0;

  clone(): FakeRuleset {
    const r = new FakeRuleset();
    r.handles = this.handles;
    for (const [k, t] of this.tables) {
      const sets = new Map([...t.sets].map(([n, s]) => [n, { ...s, elems: new Map(s.elems) }]));
      const chains = new Map([...t.chains].map(([n, c]) => [n, { ...c, rules: c.rules.slice() }]));
      r.tables.set(k, { ...t, sets, chains });
    }
    return r;
  }

  table(ref: TableRef, what: string): FakeTable {
    const t = this.tables.get(tableKey(ref));
    if (!t) throw new Refused('ENOENT', what);
    return t;
  }

  apply(c: Command): void {
    if (c.op === 'list chains') throw new Refused('EINVAL', 'list chains: only alone, as JSON');
    // `add table` and a `table { }` block create the table when it is not there
    if ((c.op === 'add table' || (c.op === 'declare' && c.block)) && !this.tables.has(tableKey(c.table))) {
      this.tables.set(tableKey(c.table), { ...c.table, sets: new Map(), chains: new Map() });
    }
    if (c.op === 'add table') return;
    const t = this.table(c.table, c.text);
    if (c.op === 'delete table') this.tables.delete(tableKey(c.table));
    else if (c.op === 'declare') this.declare(t, c.sets, c.chains, c.text);
    else if (c.op === 'add rule') this.addRule(t, c.chain, c.rule, c.text);
    else if (c.op === 'flush chain') this.chain(t, c.chain, c.text).rules = [];
    else if (c.op === 'delete chain') this.deleteChain(t, c.chain, c.text);
    else if (c.op === 'delete set') this.deleteSet(t, c.set, c.text);
  }

  /** Sets, then chains, then the chains' rules: a block may jump to a chain declared after it. */
  private declare(t: FakeTable, sets: SetDecl[], chains: ChainDecl[], text: string): void {
    for (const d of sets) {
      const next = { kind: d.kind, decl: d.body.join('; '), ...keyAndData(d, t.family), elems: new Map<string, FakeElem>() };
      const had = t.sets.get(d.name);
      if (had && (had.decl !== next.decl || had.kind !== next.kind)) throw new Refused('EEXIST', text);
      if (!had) t.sets.set(d.name, next);
    }
    for (const d of chains) {
      const had = t.chains.get(d.name);
      if (had && d.base && JSON.stringify(had.base) !== JSON.stringify(d.base)) throw new Refused('EEXIST', text);
      if (!had) t.chains.set(d.name, { base: d.base, rules: [], handle: ++this.handles });
    }
    for (const d of chains) for (const r of d.rules) this.addRule(t, d.name, r, text);
  }

  private chain(t: FakeTable, name: string, what: string): FakeChain {
    const c = t.chains.get(name);
    if (!c) throw new Refused('ENOENT', what);
    return c;
  }

  private addRule(t: FakeTable, chain: string, rule: string, what: string): void {
    const c = this.chain(t, chain, what);
    for (const s of setRefs(rule)) if (!t.sets.has(s)) throw new Refused('ENOENT', what);
    for (const j of chainRefs(rule)) if (!t.chains.has(j)) throw new Refused('ENOENT', what);
    c.rules.push(rule);
  }

  /** The kernel deletes a chain's own rules with it, but not a chain other rules or map elements go to. */
  private deleteChain(t: FakeTable, name: string, what: string): void {
    this.chain(t, name, what);
    for (const [n, c] of t.chains) if (n !== name && c.rules.some((r) => chainRefs(r).includes(name))) throw new Refused('EBUSY', what);
    for (const s of t.sets.values()) for (const e of s.elems.values()) if (e.chain === name) throw new Refused('EBUSY', what);
    t.chains.delete(name);
  }

  private deleteSet(t: FakeTable, name: string, what: string): void {
    if (!t.sets.has(name)) throw new Refused('ENOENT', what);
    for (const c of t.chains.values()) if (c.rules.some((r) => setRefs(r).includes(name))) throw new Refused('EBUSY', what);
    t.sets.delete(name);
  }

  /** `list chains` as libnftables answers it in JSON. */
  listChains(): string {
    const items: unknown[] = [{ metainfo: { version: 'fake', release_name: 'svcproxy fake', json_schema_version: 1 } }];
    for (const t of this.tables.values()) {
      for (const [name, c] of t.chains) {
        const base = c.base ? { type: c.base.type, hook: c.base.hook, prio: c.base.prio, policy: c.base.policy } : {};
        items.push({ chain: { family: t.family, table: t.name, name, handle: c.handle, ...base } });
      }
    }
    return JSON.stringify({ nftables: items });
  }
}
