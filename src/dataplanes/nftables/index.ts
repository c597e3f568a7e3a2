/**
 * nftables mode: svcproxy's own `table ip svcproxy` (and `ip6` when IPv6
 * ports exist) with a constant number of chains: service ports are map
 * elements (objects.ts), written in one raw netlink batch (encode.ts,
 * native/nft/elements.cc); libnftables handles only the few chains. The
 * first apply of a dataplane replaces the table (build the other table name,
 * fill it, swap: ruleset.ts); later ones send only element adds/deletes
 * computed against what this dataplane programmed (kept in memory), never
 * by listing the kernel. That memory is dropped when read() finds the
 * kernel holds something else (drift: `nft` by hand, another proxy's table
 * swap) or a kernel call fails, so the next apply rebuilds from the desired
 * set instead of trusting it. Each family's table is its own unit (full.ts,
 * delta.ts); this file runs them together. Every kernel call goes through
 * an NftMechanism (mechanism.ts): the addon, or the fake in unit tests.
 */
import { release } from 'node:os';
import { SvcproxyError, withMode } from '../../errors.js';
import { flushStaleUdp } from '../conntrack.js';
import type { Family, Plan, ServicePortState } from '../../plan/types.js';
import type { ApplyStats, Capability, Dataplane, DataplaneOptions } from '../types.js';
import { opsText, packBatch, packOps, type Elem, type ElementOp } from './encode.js';
import { deltaFamily, picksBuilt } from './delta.js';
import { memoryAgrees, type FamilyMemory, type FamilyStep } from './family.js';
import { fullFamily } from './full.js';
import { addonMechanism, type NftMechanism } from './mechanism.js';
import { ENDPOINTS, SERVICE_IPS, SERVICE_META, TABLES, type SetName } from './names.js';
import type { MasqueradeOptions } from './objects.js';
import { decodeDump } from './decode.js';
import { jsonVersion, liveTables, statesFromElements, tableNames } from './read.js';
import { dropTable, tableRef } from './ruleset.js';
import { validateCIDR, validatePorts } from './validate.js';
import { traitsOf } from '../traits.js';

export const DEFAULT_MASQUERADE_BIT = 0x2000;
const FAMILIES: Family[] = [4, 6];

type Memory = Map<Family, FamilyMemory>;

/** svcproxy tables present, per family, and which one is hooked in. */
interface Present {
  names: Map<Family, string[]>;
  live: Map<Family, string>;
}
const NOTHING_PRESENT: Present = { names: new Map(), live: new Map() };

/** One sync as kernel calls: text, element batch, text; undo if the batch or (full) the swap fails. */
interface Prepared {
  full: boolean;
  pre: string;
  /** the element batch: packed already (full apply), or as ops (render, deltas) */
  packed?: Uint8Array;
  ops: ElementOp[];
  post: string;
  undo: string;
  /** make memory what the kernel holds after this sync */
  commit: () => void;
  stats: Omit<ApplyStats, 'kernelMs'>;
}

/** The families' calls as one sync: texts concatenated, every delete before any add. */
function joinSteps(steps: FamilyStep[]) {
  const text = (k: 'pre' | 'post' | 'undo') => steps.map((s) => s[k]).join('');
  return { pre: text('pre'), post: text('post'), undo: text('undo'), ops: [...steps.flatMap((s) => s.dels), ...steps.flatMap((s) => s.adds)] };
}

/** Detail counters summed over the families, starting from `base`. */
function sumDetail(steps: FamilyStep[], base: Record<string, number>): Record<string, number> {
  const out = { ...base };
  for (const s of steps) for (const [k, v] of Object.entries(s.detail)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** What the dataplane uses besides its options: the kernel mechanism (default: the addon in opts.netns). */
export interface NftablesDeps {
  mechanism?: NftMechanism;
}

export class NftablesDataplane implements Dataplane {
  readonly mode = 'nftables' as const;
  private readonly masq: MasqueradeOptions;
  /** the kernel (or a fake of it); the namespace flows into nftables calls here only */
  private readonly nft: NftMechanism;
  private memory?: Memory;

  constructor(
    private readonly opts: DataplaneOptions,
    deps: NftablesDeps = {},
  ) {
    this.nft = deps.mechanism ?? addonMechanism({ netns: opts.netns });
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

  private run(commands: string, json = false): Promise<string> {
    return withMode(this.mode, this.nft.run({ commands, json }));
  }

  private elements(packed: Uint8Array): Promise<unknown> {
    return withMode(this.mode, this.nft.elements({ packed }));
  }

  /** One of svcproxy's sets, element by element, over raw netlink (libnftables' listing of 270k elements took ~15 s). */
  private async dump(f: Family, table: string, set: SetName): Promise<Elem[]> {
    const d = await withMode(this.mode, this.nft.dumpSet({ family: f, table, set }));
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

  /**
   * What the kernel holds. If that is not what memory says this dataplane
   * wrote (drift), memory is dropped: the next apply lists the tables and
   * rebuilds from the desired set, as a freshly created dataplane would.
   */
  async read(): Promise<ServicePortState[]> {
    const { listed, hooked } = await this.tables();
    const out: ServicePortState[] = [];
    let agrees = true;
    for (const f of FAMILIES) {
      // a table not hooked in was half-built by an interrupted full sync: it serves nothing
      const t = TABLES.find((name) => listed.includes(tableRef(f, name)) && hooked.includes(tableRef(f, name)));
      let states: ServicePortState[] = [];
      if (t !== undefined) {
        const [ips, metas, endpoints] = await Promise.all(([SERVICE_IPS, SERVICE_META, ENDPOINTS] as const).map((set) => this.dump(f, t, set)));
        states = statesFromElements(f, ips!, metas!, endpoints!);
      }
      out.push(...states);
      agrees &&= memoryAgrees(this.memory?.get(f), t, states);
    }
    if (!agrees) this.memory = undefined;
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
    let times: { t1: number; t2: number; t3: number };
    try {
      times = await this.send(p);
    } catch (e) {
      // the kernel may not be what memory says (a table swapped or deleted behind our back):
      // the next apply lists the tables and rebuilds, as a fresh dataplane would
      this.memory = undefined;
      throw e;
    }
    const { t1, t2, t3 } = times;
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

  /** The sync's kernel calls in order, undone where a later one fails; when each finished. */
  private async send(p: Prepared): Promise<{ t1: number; t2: number; t3: number }> {
    if (p.pre) await this.run(p.pre);
    const t1 = performance.now();
    try {
      if (p.packed?.length || p.ops.length) await this.elements(p.packed ?? packOps(p.ops));
    } catch (e) {
      if (p.undo) await this.run(p.undo);
      throw e;
    }
    const t2 = performance.now();
    try {
      if (p.post) await this.run(p.post);
    } catch (e) {
      // delta: the batch is in; only unreferenced affinity chains are left over (a full sync drops them)
      if (p.full) await this.run(p.undo);
      throw e;
    }
    return { t1, t2, t3: performance.now() };
  }

  async cleanup(): Promise<void> {
    await this.run(FAMILIES.flatMap((f) => TABLES.map((t) => dropTable(f, t))).join(''));
    this.memory = undefined;
  }

  async close(): Promise<void> {
    await this.nft.close();
  }

  /** Validate everything, then compute the kernel calls and the memory they lead to. */
  private prepare(plan: Plan, present: Present | undefined, pack: boolean): Prepared {
    if (this.memory === undefined || present !== undefined) {
      validatePorts(plan.desired);
      return this.prepareFull(plan, present ?? NOTHING_PRESENT, pack);
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
    if (!touched.every((s) => picksBuilt(mem.get(s.family)!, s, this.masq))) return this.prepareFull(plan, undefined, pack);
    return this.prepareDelta(plan, mem, touched, pack);
  }

  private prepareFull(plan: Plan, present: Present | undefined, pack: boolean): Prepared {
    const steps = FAMILIES.map((family) => {
      const had = this.memory?.get(family);
      return fullFamily({
        family,
        states: plan.desired.filter((s) => s.family === family),
        present: present?.names.get(family) ?? (had ? [had.table] : []),
        live: present?.live.get(family) ?? had?.table,
        masq: this.masq,
        pack,
      });
    });
    const next: Memory = new Map();
    steps.forEach((s, i) => s.memory && next.set(FAMILIES[i]!, s.memory));
    const desired = new Set(plan.desired.map((d) => d.key));
    const removed = plan.actual.filter((a) => !desired.has(a.key)).length;
    const packers = steps.flatMap((s) => (s.packer ? [s.packer] : []));
    return {
      full: true,
      ...joinSteps(steps),
      packed: pack ? packBatch(packers) : undefined,
      commit: () => {
        this.memory = next;
      },
      stats: { written: plan.desired.length, removed, detail: sumDetail(steps, { full: 1, chains: 0, elements: 0 }) },
    };
  }

  private prepareDelta(plan: Plan, mem: Memory, touched: ServicePortState[], pack: boolean): Prepared {
    const steps: FamilyStep[] = [];
    for (const f of FAMILIES) {
      const add = touched.filter((s) => s.family === f);
      const del = plan.changes.removed.filter((s) => s.family === f);
      const memory = mem.get(f);
      if (add.length + del.length === 0 || !memory) continue;
      const step = deltaFamily({ memory, add, del, masq: this.masq });
      if (!step) return this.prepareFull(plan, undefined, pack);
      steps.push(step);
    }
    const joined = joinSteps(steps);
    return {
      full: false,
      ...joined,
      undo: joined.pre ? joined.undo : '',
      commit: () => steps.forEach((s) => s.commit?.()),
      stats: { written: touched.length, removed: plan.changes.removed.length, detail: sumDetail(steps, { full: 0, chains: 0, sets: 0, elements: 0 }) },
    };
  }
}

export function createNftablesDataplane(opts: DataplaneOptions, deps: NftablesDeps = {}): Dataplane {
  return new NftablesDataplane(opts, deps);
}
