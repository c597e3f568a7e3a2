/**
 * nftables mode: svcproxy's own `table ip svcproxy` (and `ip6` when IPv6
 * ports exist), programmed in-process through libnftables, one atomic
 * transaction per apply. The first apply of a dataplane replaces the table;
 * later ones send only the delta, computed against what this dataplane
 * programmed (kept in memory), never by listing the kernel.
 */
import { release } from 'node:os';
import { SvcproxyError, withMode } from '../../errors.js';
import { nftAddon, type NftHandle } from '../../native/nft.js';
import type { Family, Plan, ServicePortState } from '../../plan/types.js';
import type { ApplyStats, Capability, Dataplane, DataplaneOptions } from '../types.js';
import { TABLE, familySyntax } from './names.js';
import { portObjects, type MasqueradeOptions, type PortObjects } from './objects.js';
import { jsonVersion, parseTable, tableNames } from './read.js';
import { delta, fullLoad } from './ruleset.js';
import { validateCIDR, validatePorts } from './validate.js';

export const DEFAULT_MASQUERADE_BIT = 0x2000;
const FAMILIES: Family[] = [4, 6];

interface Programmed {
  state: ServicePortState;
  objects: PortObjects;
}

/** What this dataplane last wrote, per family. */
interface Memory {
  ports: Map<Family, Map<string, Programmed>>;
  /** endpoint address -> number of service ports using it (hairpin set) */
  hairpin: Map<Family, Map<string, number>>;
}

interface Prepared {
  text: string;
  next: Memory;
  stats: Omit<ApplyStats, 'kernelMs'>;
}

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

  private run(commands: string, json = false): Promise<string> {
    this.handle ??= withMode(this.mode, nftAddon().nftOpen(this.opts.netns ?? ''));
    const h = this.handle;
    return withMode(this.mode, h.then((handle) => nftAddon().nftRun(handle, commands, json)));
  }

  async detect(): Promise<Capability> {
    const versions: Record<string, string> = { kernel: release() };
    try {
      const out = await this.run('list tables', true);
      const v = jsonVersion(out);
      if (v) versions.libnftables = v;
      return { mode: this.mode, usable: true, versions, families: FAMILIES };
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      return { mode: this.mode, usable: false, reason: `libnftables cannot talk to nf_tables: ${why}`, versions, families: [] };
    }
  }

  async read(): Promise<ServicePortState[]> {
    const present = tableNames(await this.run('list tables', true));
    const out: ServicePortState[] = [];
    for (const f of FAMILIES) {
      const t = `${familySyntax(f).table} ${TABLE}`;
      if (!present.includes(t)) continue;
      out.push(...parseTable(await this.run(`list table ${t}`, true), f));
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  render(plan: Plan): string {
    return this.prepare(plan).text;
  }

  async apply(plan: Plan): Promise<ApplyStats> {
    const p = this.prepare(plan);
    const t0 = performance.now();
    if (p.text !== '') await this.run(p.text);
    const kernelMs = performance.now() - t0;
    this.memory = p.next;
    return { ...p.stats, kernelMs };
  }

  async cleanup(): Promise<void> {
    // add-then-delete: one transaction that succeeds whether or not the table exists
    const text = FAMILIES.map((f) => `add table ${familySyntax(f).table} ${TABLE}\ndelete table ${familySyntax(f).table} ${TABLE}`).join('\n');
    await this.run(text + '\n');
    this.memory = undefined;
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    if (h) await h.then((handle) => nftAddon().nftClose(handle), () => undefined);
  }

  /** Validate everything, then compute the text and the memory it leads to. */
  private prepare(plan: Plan): Prepared {
    if (this.memory === undefined) {
      validatePorts(plan.desired);
      return this.prepareFull(plan);
    }
    // only what will be written needs checking (the rest was checked when written)
    validatePorts(plan.changes.added);
    validatePorts(plan.changes.changed.map((c) => c.after));
    return this.prepareDelta(plan, this.memory);
  }

  private prepareFull(plan: Plan): Prepared {
    const next: Memory = { ports: new Map(), hairpin: new Map() };
    const parts: string[] = [];
    let elements = 0;
    for (const f of FAMILIES) {
      const states = plan.desired.filter((s) => s.family === f);
      if (f === 6 && states.length === 0) continue; // IPv4 table always; IPv6 only when used
      const ports = new Map<string, Programmed>();
      const hairpin = new Map<string, number>();
      for (const s of states) {
        const objects = portObjects(s, this.masq);
        ports.set(s.key, { state: s, objects });
        for (const a of objects.endpoints) hairpin.set(a, (hairpin.get(a) ?? 0) + 1);
        elements += objects.elements.length;
      }
      next.ports.set(f, ports);
      next.hairpin.set(f, hairpin);
      parts.push(fullLoad(f, this.masq.masqueradeBit, [...ports.values()].map((p) => p.objects)));
    }
    const chains = [...next.ports.values()].reduce((n, m) => n + [...m.values()].reduce((k, p) => k + p.objects.chains.size, 0), 0);
    const removed = plan.actual.filter((a) => !plan.desired.some((d) => d.key === a.key)).length;
    return { text: parts.join(''), next, stats: { written: plan.desired.length, removed, detail: { full: 1, chains, elements } } };
  }

  private prepareDelta(plan: Plan, mem: Memory): Prepared {
    const next: Memory = { ports: new Map(mem.ports), hairpin: new Map(mem.hairpin) };
    const touched = [...plan.changes.added, ...plan.changes.changed.map((c) => c.after)];
    const parts: string[] = [];
    const detail = { full: 0, chains: 0, sets: 0, elements: 0 };
    for (const f of FAMILIES) {
      const add = touched.filter((s) => s.family === f);
      const del = plan.changes.removed.filter((s) => s.family === f);
      if (add.length + del.length === 0) continue;
      const ports = new Map(mem.ports.get(f) ?? []);
      const counts = new Map(mem.hairpin.get(f) ?? []);
      const before: PortObjects[] = [];
      const after: PortObjects[] = [];
      const net = new Map<string, number>();
      const bump = (objs: PortObjects, by: number) => {
        for (const a of objs.endpoints) net.set(a, (net.get(a) ?? 0) + by);
      };
      for (const s of [...del, ...add]) {
        const old = ports.get(s.key);
        if (old) {
          before.push(old.objects);
          bump(old.objects, -1);
          ports.delete(s.key);
        }
      }
      for (const s of add) {
        const objects = portObjects(s, this.masq);
        after.push(objects);
        bump(objects, +1);
        ports.set(s.key, { state: s, objects });
      }
      const gone: string[] = [];
      const fresh: string[] = [];
      for (const [a, d] of net) {
        const was = counts.get(a) ?? 0;
        const now = was + d;
        if (now > 0) counts.set(a, now);
        else counts.delete(a);
        if (was > 0 && now <= 0) gone.push(a);
        if (was <= 0 && now > 0) fresh.push(a);
      }
      const d = delta(f, before, after, gone, fresh);
      const familyKnown = mem.ports.has(f);
      // first IPv6 port in a dataplane that so far had only IPv4: create that table
      parts.push(familyKnown ? d.text : fullLoad(f, this.masq.masqueradeBit, [...ports.values()].map((p) => p.objects)));
      next.ports.set(f, ports);
      next.hairpin.set(f, counts);
      detail.chains += d.counts.chains;
      detail.sets += d.counts.sets;
      detail.elements += d.counts.elements;
    }
    return { text: parts.join(''), next, stats: { written: touched.length, removed: plan.changes.removed.length, detail } };
  }
}

export function createNftablesDataplane(opts: DataplaneOptions): Dataplane {
  return new NftablesDataplane(opts);
}
