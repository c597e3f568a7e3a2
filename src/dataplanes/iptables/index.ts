/**
 * iptables mode: kube-proxy's layout, applied with iptables-restore --noflush,
 * and the same layout for IPv6 through ip6tables-restore when ip6tables works
 * (of the same flavour). Each family's tables implement that family's
 * service ports only; the IPv6 tables are left untouched until some IPv6
 * service port exists.
 */
import { readFile } from 'node:fs/promises';
import { withMode } from '../../errors.js';
import { run } from '../../native/exec.js';
import type { Netns } from '../../native/netns.js';
import type { Family, Plan, ServicePortState } from '../../plan/types.js';
import { flushStaleUdp } from '../conntrack.js';
import type { ApplyStats, Capability, Dataplane, DataplaneOptions } from '../types.js';
import { detectBackend, type IptablesBackend } from '../netfilter/runner.js';
import { planForFamily } from './family.js';
import { parseSave, type Owned } from './parse.js';
import { renderCleanup, renderRestore, type KernelView } from './restore.js';
import type { RuleOptions } from './rules.js';
import { traitsOf } from '../traits.js';

export const DEFAULT_MASQ_BIT = 0x2000;

export class IptablesDataplane implements Dataplane {
  readonly mode = 'iptables' as const;
  private backend?: IptablesBackend;
  /** families whose -save/-restore work here (4 always, 6 when ip6tables does) */
  private families?: Family[];
  /** owned chains per family as last read or written; empty until read() */
  private readonly views = new Map<Family, KernelView>();
  /** the restore text of the last applied plan (render() after apply returns it) */
  private applied?: { plan: Plan; text: string };
  private readonly netns: Netns;
  private readonly rules: RuleOptions;

  constructor(private readonly opts: DataplaneOptions) {
    this.netns = opts.netns ?? '';
    this.rules = { masqBit: opts.masqueradeBit ?? DEFAULT_MASQ_BIT, clusterCIDR: opts.clusterCIDR, masqueradeAll: opts.masqueradeAll };
  }

  /** The iptables flavour in use (detected once). */
  async iptables(): Promise<IptablesBackend> {
    this.backend ??= await withMode(this.mode, detectBackend(this.netns, this.opts.iptablesBackend));
    return this.backend;
  }

  /** [4] or [4, 6]: ip6tables of the flavour in use answers a save of its nat table */
  private async usableFamilies(): Promise<Family[]> {
    if (this.families) return this.families;
    const b = await this.iptables();
    const v6 = await b.save('nat', 6).then(
      () => true,
      () => false,
    );
    this.families = v6 ? [4, 6] : [4];
    return this.families;
  }

  async detect(): Promise<Capability> {
    const versions: Record<string, string> = { kernel: (await readFile('/proc/sys/kernel/osrelease', 'utf8')).trim() };
    try {
      const b = await this.iptables();
      versions.iptables = b.version;
      const families = await this.usableFamilies();
      await run(['conntrack', '--version'], { netns: this.netns, allowFailure: true }).then(
        (r) => (versions.conntrack = (r.out || r.err).trim()),
        () => undefined,
      );
      const notes = [`iptables-${b.flavour}`, families.includes(6) ? `ip6tables-${b.flavour}` : `no usable ip6tables-${b.flavour}: IPv4 only`];
      return { mode: this.mode, usable: true, versions, traits: traitsOf(this.mode), families, notes };
    } catch (e) {
      return { mode: this.mode, usable: false, reason: (e as Error).message, versions, traits: traitsOf(this.mode), families: [] };
    }
  }

  private async readFamily(f: Family): Promise<Owned> {
    const b = await this.iptables();
    const [nat, filter] = await Promise.all([b.save('nat', f), b.save('filter', f)]);
    const owned = parseSave(nat, filter);
    this.views.set(f, owned.view);
    return owned;
  }

  private async readOwned(): Promise<Map<Family, Owned>> {
    const families = await this.usableFamilies();
    const owned = await Promise.all(families.map(async (f) => [f, await this.readFamily(f)] as const));
    return new Map(owned);
  }

  async read(): Promise<ServicePortState[]> {
    return withMode(
      this.mode,
      this.readOwned().then((all) => [...all.values()].flatMap((o) => o.states).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))),
    );
  }

  render(plan: Plan): string {
    // After apply() the view has moved on: give back what was applied for that plan.
    if (this.applied?.plan === plan) return this.applied.text;
    return this.renderFamilies(plan, this.families ?? [4, 6])
      .map((r) => r.text)
      .join('');
  }

  /** restore input per family, headed by the tool it is for; a family with nothing to hold is left out */
  private renderFamilies(plan: Plan, families: Family[]) {
    return families.flatMap((f) => {
      const view = this.views.get(f) ?? emptyView();
      const sub = planForFamily(plan, f);
      if (f !== 4 && sub.desired.length === 0 && ownsNothing(view)) return [];
      const r = renderRestore(sub, view, this.rules);
      // nothing to declare or write in this family: no restore run at all
      if (r.text === EMPTY_RESTORE) return [];
      return [{ family: f, ...r, text: f === 4 ? r.text : `# ip6tables-restore --noflush\n${r.text}` }];
    });
  }

  async apply(plan: Plan): Promise<ApplyStats> {
    return withMode(this.mode, this.doApply(plan));
  }

  private async doApply(plan: Plan): Promise<ApplyStats> {
    const b = await this.iptables();
    const families = await this.usableFamilies();
    if (families.some((f) => !this.views.has(f))) await this.readOwned();
    const parts = this.renderFamilies(plan, families);
    const t0 = performance.now();
    for (const r of parts) await b.restore(r.text, r.family);
    const kernelMs = performance.now() - t0;
    for (const r of parts) this.views.set(r.family, r.after);
    this.applied = { plan, text: parts.map((r) => r.text).join('') };
    const flushed = await flushStaleUdp(this.netns, plan.changes);
    const sum = (k: 'written' | 'removed' | 'rules') => parts.reduce((acc, r) => acc + r[k], 0);
    return { written: sum('written'), removed: sum('removed'), kernelMs, detail: { rules: sum('rules'), conntrackFlushes: flushed } };
  }

  async cleanup(): Promise<void> {
    await withMode(
      this.mode,
      (async () => {
        const b = await this.iptables();
        for (const [f, owned] of await this.readOwned()) {
          if (ownsNothing(owned.view) && owned.jumpLines.length === 0) continue;
          await b.restore(renderCleanup(owned.view, owned.jumpLines), f);
          this.views.set(f, emptyView());
        }
      })(),
    );
  }

  async close(): Promise<void> {}
}

const EMPTY_RESTORE = '*nat\nCOMMIT\n*filter\nCOMMIT\n';
const emptyView = (): KernelView => ({ nat: new Set(), filter: new Set(), jumps: new Set() });
const ownsNothing = (v: KernelView) => v.nat.size + v.filter.size + v.jumps.size === 0;
