/**
 * nftables mode: svcproxy's own `table ip svcproxy` (and `ip6` when IPv6
 * ports exist) with a constant number of chains: service ports are map
 * elements (objects.ts), written in one raw netlink batch (encode.ts,
 * native/nft/elements.cc); libnftables handles only the few chains. The
 * first apply of a dataplane replaces the table (build the other table name,
 * fill it, swap: ruleset.ts); later ones send only element adds/deletes
 * computed against what this dataplane programmed (kept in memory), never
 * by listing the kernel.
 */
import { release } from 'node:os';
import { SvcproxyError, withMode } from '../../errors.js';
import { flushStaleUdp } from '../conntrack.js';
import { nftAddon, type NftHandle } from '../../native/nft.js';
import type { Family, Plan, ServicePortState } from '../../plan/types.js';
import type { ApplyStats, Capability, Dataplane, DataplaneOptions } from '../types.js';
import { ElementPacker, elemId, groupOps, opsText, packBatch, packOps, type Elem, type ElementOp } from './encode.js';
import {
  ENDPOINTS,
  HAIRPIN,
  NODEPORT_ENDPOINTS,
  SERVICE_IPS,
  SERVICE_META,
  SERVICE_NODEPORTS,
  TABLE,
  TABLES,
  familySyntax,
  drawChain,
  pickChain,
  pickClass,
  type PickKind,
  type SetName,
} from './names.js';
import { drawRule, isTight, pickRules, portObjects, type MasqueradeOptions, type PortClasses, type PortObjects } from './objects.js';
import { decodeDump } from './decode.js';
import { jsonVersion, liveTables, statesFromElements, tableNames } from './read.js';
import { buildTable, chainDelta, dropTable, setSize, swapTables, tableRef } from './ruleset.js';
import { validateCIDR, validatePorts } from './validate.js';
import { traitsOf } from '../traits.js';

export const DEFAULT_MASQUERADE_BIT = 0x2000;
const FAMILIES: Family[] = [4, 6];

/** What this dataplane last wrote in one family's table. */
interface FamilyMemory {
  table: string;
  /** states only: a touched port's old objects are recomputed (portObjects is deterministic) */
  ports: Map<string, ServicePortState>;
  /** size classes of the ports whose verdicts kept a class wider than their count's (classFor) */
  classes: Map<string, PortClasses>;
  /** endpoint address -> number of service ports using it (hairpin set) */
  hairpin: Map<string, number>;
  /** shared pick chains present */
  picks: Set<string>;
  /** elements per set now, and the size each was declared with */
  counts: Map<SetName, number>;
  sizes: Map<SetName, number>;
}
type Memory = Map<Family, FamilyMemory>;

/** svcproxy tables present, per family, and which one is hooked in. */
interface Present {
  names: Map<Family, string[]>;
  live: Map<Family, string>;
}

/** One sync as kernel calls: text, element batch, text; undo if the batch or (full) the swap fails. */
interface Prepared {
  full: boolean;
  pre: string;
  /** the element batch: packed already (full apply), or as ops (render, deltas) */
  packed?: Uint8Array;
  ops: ElementOp[];
  post: string;
  undo: string;
  /** make memory what the kernel holds after this sync (delta: in place, no copy of 30k entries) */
  commit: () => void;
  stats: Omit<ApplyStats, 'kernelMs'>;
}

/** shared pick chains are built for the size classes up to max(this, most endpoints of any port) */
const PRECREATED_PICKS = 16;
const PICK_KINDS: PickKind[] = ['cluster', 'external', 'external-local', 'nodeport', 'nodeport-local'];

const SET_NAMES: SetName[] = [SERVICE_IPS, SERVICE_NODEPORTS, ENDPOINTS, NODEPORT_ENDPOINTS, SERVICE_META, HAIRPIN];

const hairpinElem = (a: string): Elem => ({ set: HAIRPIN, key: [a, a] });

export class NftablesDataplane implements Dataplane {
  readonly mode = 'nftables' as const;
  private readonly masq: MasqueradeOptions;
  private handle?: Promise<NftHandle>;
  private memory?: Memory;

  constructor(private readonly opts: DataplaneOptions) {
    if (opts.clusterCIDR !== undefined) validateCIDR(opts.clusterCIDR);
    const bit = opts.masqueradeBit ?? DEFAULT_MASQUERADE_BIT;
    if (!Number.isInteger(bit) || bit <= 0 || bit > 0xffffffff || (bit & (bit - 1)) !== 0) {
      throw new SvcproxyError(`masqueradeBit: ${bit} must be a single bit of the 32-bit packet mark`, {
        code: 'EINVAL',
        op: 'validate',
        field: 'masqueradeBit',
        mode: this.mode,
      });
    }
    this.masq = { clusterCIDR: opts.clusterCIDR, masqueradeAll: opts.masqueradeAll ?? false, masqueradeBit: bit };
  }

  private ctx(): Promise<NftHandle> {
    this.handle ??= withMode(this.mode, nftAddon().nftOpen(this.opts.netns ?? ''));
    return this.handle;
  }

  private run(commands: string, json = false): Promise<string> {
    return withMode(this.mode, this.ctx().then((h) => nftAddon().nftRun(h, commands, json)));
  }

  private elements(packed: Uint8Array): Promise<unknown> {
    return withMode(this.mode, this.ctx().then((h) => nftAddon().nftElements(h, packed)));
  }

  /** One of svcproxy's sets, element by element, over raw netlink (libnftables' listing of 270k elements took ~15 s). */
  private async dump(f: Family, table: string, set: SetName): Promise<Elem[]> {
    const d = await withMode(this.mode, this.ctx().then((h) => nftAddon().nftDumpSet(h, f, table, set)));
    const elems = decodeDump(set, f, d.data, d.count);
    if (!elems) throw new SvcproxyError(`${tableRef(f, table)} set ${set}: elements the dataplane did not write (layout differs)`, { code: 'EPROTO', op: 'read', mode: this.mode });
    return elems;
  }

  async detect(): Promise<Capability> {
    const versions: Record<string, string> = { kernel: release() };
    try {
      const out = await this.run('list chains', true);
      const v = jsonVersion(out);
      if (v) versions.libnftables = v;
      return { mode: this.mode, usable: true, versions, traits: traitsOf(this.mode), families: FAMILIES };
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      return { mode: this.mode, usable: false, reason: `libnftables cannot talk to nf_tables: ${why}`, versions, traits: traitsOf(this.mode), families: [] };
    }
  }

  /**
   * Tables present and tables hooked in, from `list chains` only: libnftables
   * 1.0.6 fetches every set element for `list tables` or `list chain T C`
   * (5-9 s at 30k ports), not for this.
   */
  private async tables(): Promise<{ listed: string[]; hooked: string[] }> {
    const json = await this.run('list chains', true);
    return { listed: tableNames(json), hooked: liveTables(json) };
  }

  private async present(): Promise<Present> {
    const { listed, hooked } = await this.tables();
    const names = new Map<Family, string[]>();
    const live = new Map<Family, string>();
    for (const f of FAMILIES) {
      const here = TABLES.filter((t) => listed.includes(tableRef(f, t)));
      names.set(f, here);
      for (const t of here) {
        if (here.length === 1 || hooked.includes(tableRef(f, t))) {
          live.set(f, t);
          break;
        }
      }
    }
    return { names, live };
  }

  async read(): Promise<ServicePortState[]> {
    const { listed, hooked } = await this.tables();
    const out: ServicePortState[] = [];
    for (const f of FAMILIES) {
      for (const t of TABLES) {
        if (!listed.includes(tableRef(f, t))) continue;
        if (!hooked.includes(tableRef(f, t))) continue; // half-built by an interrupted full sync: serves nothing
        const [ips, metas, endpoints] = await Promise.all(([SERVICE_IPS, SERVICE_META, ENDPOINTS] as const).map((set) => this.dump(f, t, set)));
        out.push(...statesFromElements(f, ips!, metas!, endpoints!));
        break;
      }
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  render(plan: Plan): string {
    const p = this.prepare(plan, this.memory === undefined ? { names: new Map(), live: new Map() } : undefined, false);
    const ref = (f: Family, t: string) => tableRef(f, t);
    return p.pre + (p.ops.length ? '# elements: one netlink batch\n' + opsText(p.ops, ref) : '') + p.post;
  }

  async apply(plan: Plan): Promise<ApplyStats> {
    const tp = performance.now();
    const present = this.memory === undefined ? await this.present() : undefined;
    const tq = performance.now();
    const p = this.prepare(plan, present, true);
    const t0 = performance.now();
    if (p.pre) await this.run(p.pre);
    const t1 = performance.now();
    let t2 = t1;
    try {
      if (p.packed?.length || p.ops.length) await this.elements(p.packed ?? packOps(p.ops));
      t2 = performance.now();
    } catch (e) {
      if (p.undo) await this.run(p.undo);
      throw e;
    }
    try {
      if (p.post) await this.run(p.post);
    } catch (e) {
      if (p.full) {
        await this.run(p.undo);
        throw e;
      }
      // delta: the batch is in; only unreferenced affinity chains are left over (a full sync drops them)
      p.commit();
      throw e;
    }
    const t3 = performance.now();
    p.commit();
    // UDP flows NATed to a removed endpoint would keep going there (kube-proxy's conntrack cleanup)
    const conntrackFlushes = await flushStaleUdp(this.opts.netns ?? '', plan.changes);
    const ms = (x: number) => Math.round(x * 100) / 100;
    const detail = {
      ...p.stats.detail,
      conntrackFlushes,
      listMs: ms(tq - tp),
      prepareMs: ms(t0 - tq),
      textMs: ms(t1 - t0 + t3 - t2),
      batchMs: ms(t2 - t1),
    };
    return { ...p.stats, detail, kernelMs: t3 - t0 };
  }

  async cleanup(): Promise<void> {
    await this.run(FAMILIES.flatMap((f) => TABLES.map((t) => dropTable(f, t))).join(''));
    this.memory = undefined;
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    if (h) await h.then((handle) => nftAddon().nftClose(handle), () => undefined);
  }

  /** Validate everything, then compute the kernel calls and the memory they lead to. */
  private prepare(plan: Plan, present: Present | undefined, pack: boolean): Prepared {
    if (this.memory === undefined || present !== undefined) {
      validatePorts(plan.desired);
      return this.prepareFull(plan, present ?? { names: new Map(), live: new Map() }, pack);
    }
    // only what will be written needs checking (the rest was checked when written)
    validatePorts(plan.changes.added);
    validatePorts(plan.changes.changed.map((c) => c.after));
    const touched = [...plan.changes.added, ...plan.changes.changed.map((c) => c.after)];
    const mem = this.memory;
    // a family this dataplane has not built yet (first IPv6 port): rebuild everything
    if (touched.some((s) => !mem.has(s.family))) return this.prepareFull(plan, undefined, pack);
    // more endpoints than any shared pick chain was built for: rebuild (pick chains are only
    // created with their maps: libnftables 1.0.6 cannot add rules against the kernel's typeof maps)
    const built = (s: ServicePortState) => {
      const fm = mem.get(s.family)!;
      const old = fm.ports.get(s.key);
      const had = old && portObjects(old, this.masq, fm.classes.get(s.key)).classes;
      return portObjects(s, this.masq, had).picks.every((c) => fm.picks.has(c));
    };
    if (!touched.every(built)) return this.prepareFull(plan, undefined, pack);
    return this.prepareDelta(plan, mem, touched, pack);
  }

  private prepareFull(plan: Plan, present: Present | undefined, pack: boolean): Prepared {
    const next: Memory = new Map();
    let pre = '';
    let post = '';
    let undo = '';
    const ops: ElementOp[] = [];
    const packers: ElementPacker[] = [];
    const detail = { full: 1, chains: 0, elements: 0 };
    for (const f of FAMILIES) {
      const states = plan.desired.filter((s) => s.family === f);
      const names = present?.names.get(f) ?? (this.memory?.get(f) ? [this.memory.get(f)!.table] : []);
      const live = present?.live.get(f) ?? this.memory?.get(f)?.table;
      if (f === 6 && states.length === 0) {
        // IPv4 table always; IPv6 only when used (drop a stale one)
        post += names.map((t) => dropTable(f, t)).join('');
        continue;
      }
      const table = live === TABLE ? TABLES[1] : TABLE;
      const ports = new Map<string, ServicePortState>();
      const hairpin = new Map<string, number>();
      const special: PortObjects[] = []; // ports with their own chains (affinity)
      // packed as they come when applying (no 300k objects kept); collected for render
      const packer = new ElementPacker('add', f, table);
      const elems: Elem[] = [];
      const sink = pack ? (e: Elem) => packer.push(e) : (e: Elem) => void elems.push(e);
      let most = PRECREATED_PICKS;
      for (const s of states) {
        const objects = portObjects(s, this.masq);
        ports.set(s.key, s);
        for (const a of objects.endpoints) hairpin.set(a, (hairpin.get(a) ?? 0) + 1);
        most = Math.max(most, s.internal.length, s.external.length);
        for (const e of objects.elements) sink(e);
        if (objects.chains.size > 0) special.push(objects);
        detail.chains += objects.chains.size;
      }
      for (const a of hairpin.keys()) sink(hairpinElem(a));
      const picks = new Map<string, string[]>();
      for (const kind of PICK_KINDS) {
        for (let c = 1; c <= pickClass(most); c *= 2) {
          if (c > 1) picks.set(drawChain(kind, c), [drawRule(kind, c, familySyntax(f))]);
          picks.set(pickChain(kind, c), pickRules(kind, c, familySyntax(f), this.masq));
        }
      }
      detail.chains += picks.size;
      const counts = new Map<SetName, number>(SET_NAMES.map((n) => [n, packer.count(n)]));
      for (const e of elems) counts.set(e.set, counts.get(e.set)! + 1);
      const sizes = new Map([...counts].map(([n, c]) => [n, setSize(c)]));
      detail.elements += [...counts.values()].reduce((a, b) => a + b, 0);
      pre += buildTable(f, table, picks, special, sizes);
      if (pack) packers.push(packer);
      else ops.push(...groupOps('add', f, table, elems));
      post += swapTables(f, table, names.filter((t) => t !== table), this.masq.masqueradeBit);
      undo += dropTable(f, table);
      next.set(f, { table, ports, classes: new Map(), hairpin, picks: new Set(picks.keys()), counts, sizes });
    }
    const desired = new Set(plan.desired.map((d) => d.key));
    const removed = plan.actual.filter((a) => !desired.has(a.key)).length;
    const commit = () => {
      this.memory = next;
    };
    return { full: true, pre, packed: pack ? packBatch(packers) : undefined, ops, post, undo, commit, stats: { written: plan.desired.length, removed, detail } };
  }

  private prepareDelta(plan: Plan, mem: Memory, touched: ServicePortState[], pack: boolean): Prepared {
    let pre = '';
    let post = '';
    let undo = '';
    const dels: ElementOp[] = [];
    const adds: ElementOp[] = [];
    const commits: (() => void)[] = [];
    const detail = { full: 0, chains: 0, sets: 0, elements: 0 };
    for (const f of FAMILIES) {
      const add = touched.filter((s) => s.family === f);
      const del = plan.changes.removed.filter((s) => s.family === f);
      const fm = mem.get(f);
      if (add.length + del.length === 0 || !fm) continue;
      const before: PortObjects[] = [];
      const after: { state: ServicePortState; objects: PortObjects }[] = [];
      const dropped = new Set<string>();
      const oldClasses = new Map<string, PortClasses>();
      const net = new Map<string, number>(); // hairpin count changes
      for (const s of [...del, ...add]) {
        const oldState = dropped.has(s.key) ? undefined : fm.ports.get(s.key);
        if (!oldState) continue;
        dropped.add(s.key);
        const old = portObjects(oldState, this.masq, fm.classes.get(s.key));
        oldClasses.set(s.key, old.classes);
        before.push(old);
        for (const a of old.endpoints) net.set(a, (net.get(a) ?? 0) - 1);
      }
      for (const s of add) {
        // the classes its verdicts have now may stay (a flapping count changes no verdict)
        const objects = portObjects(s, this.masq, oldClasses.get(s.key));
        after.push({ state: s, objects });
        for (const a of objects.endpoints) net.set(a, (net.get(a) ?? 0) + 1);
      }
      const gone: Elem[] = [];
      const fresh: Elem[] = [];
      const counts = new Map<string, number>();
      for (const [a, d] of net) {
        const was = fm.hairpin.get(a) ?? 0;
        const now = was + d;
        counts.set(a, now);
        if (was > 0 && now <= 0) gone.push(hairpinElem(a));
        if (was <= 0 && now > 0) fresh.push(hairpinElem(a));
      }
      const afterObjs = after.map((p) => p.objects);
      const idsA = new Map(before.flatMap((o) => o.elements).map((e) => [elemId(e), e]));
      const idsB = new Map(afterObjs.flatMap((o) => o.elements).map((e) => [elemId(e), e]));
      for (const [id, e] of idsA) if (!idsB.has(id)) gone.push(e);
      for (const [id, e] of idsB) if (!idsA.has(id)) fresh.push(e);

      const grown = new Map(fm.counts);
      for (const e of gone) grown.set(e.set, grown.get(e.set)! - 1);
      for (const e of fresh) grown.set(e.set, grown.get(e.set)! + 1);
      // a set would outgrow its declared size: rebuild with room
      if ([...grown].some(([n, c]) => c > fm.sizes.get(n)!)) return this.prepareFull(plan, undefined, pack);

      const cd = chainDelta(f, fm.table, before, afterObjs);
      const back = chainDelta(f, fm.table, afterObjs, before);
      pre += cd.pre;
      post += cd.post;
      undo += back.pre + back.post;
      dels.push(...groupOps('delete', f, fm.table, gone));
      adds.push(...groupOps('add', f, fm.table, fresh));
      commits.push(() => {
        for (const k of dropped) {
          fm.ports.delete(k);
          fm.classes.delete(k);
        }
        for (const p of after) {
          fm.ports.set(p.state.key, p.state);
          if (!isTight(p.state, p.objects.classes)) fm.classes.set(p.state.key, p.objects.classes);
        }
        fm.counts = grown;
        for (const [a, n] of counts) {
          if (n > 0) fm.hairpin.set(a, n);
          else fm.hairpin.delete(a);
        }
      });
      detail.chains += cd.chains;
      detail.sets += cd.sets;
      detail.elements += gone.length + fresh.length;
    }
    return {
      full: false,
      pre,
      ops: [...dels, ...adds],
      post,
      undo: pre ? undo : '',
      commit: () => commits.forEach((c) => c()),
      stats: { written: touched.length, removed: plan.changes.removed.length, detail },
    };
  }
}

export function createNftablesDataplane(opts: DataplaneOptions): Dataplane {
  return new NftablesDataplane(opts);
}
