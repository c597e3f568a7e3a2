/** iptables mode: kube-proxy's layout, applied with iptables-restore --noflush. */
import { readFile } from 'node:fs/promises';
import { withMode } from '../../errors.js';
import { run } from '../../native/exec.js';
import type { Netns } from '../../native/netns.js';
import type { Plan, ServicePortState } from '../../plan/types.js';
import { flushStaleUdp } from '../conntrack.js';
import type { ApplyStats, Capability, Dataplane, DataplaneOptions } from '../types.js';
import { detectBackend, type IptablesBackend } from '../netfilter/runner.js';
import { parseSave, type Owned } from './parse.js';
import { renderCleanup, renderRestore, type KernelView } from './restore.js';
import type { RuleOptions } from './rules.js';
import { traitsOf } from '../traits.js';

export const DEFAULT_MASQ_BIT = 0x2000;

export class IptablesDataplane implements Dataplane {
  readonly mode = 'iptables' as const;
  private backend?: IptablesBackend;
  /** owned chains as last read or written; undefined until read() */
  private view?: KernelView;
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

  async detect(): Promise<Capability> {
    const versions: Record<string, string> = { kernel: (await readFile('/proc/sys/kernel/osrelease', 'utf8')).trim() };
    try {
      const b = await this.iptables();
      versions.iptables = b.version;
      await run(['conntrack', '--version'], { netns: this.netns, allowFailure: true }).then(
        (r) => (versions.conntrack = (r.out || r.err).trim()),
        () => undefined,
      );
      return { mode: this.mode, usable: true, versions, traits: traitsOf(this.mode), families: [4], notes: [`iptables-${b.flavour}`] };
    } catch (e) {
      return { mode: this.mode, usable: false, reason: (e as Error).message, versions, traits: traitsOf(this.mode), families: [] };
    }
  }

  private async readOwned(): Promise<Owned> {
    const b = await this.iptables();
    const [nat, filter] = await Promise.all([b.save('nat'), b.save('filter')]);
    const owned = parseSave(nat, filter);
    this.view = owned.view;
    return owned;
  }

  async read(): Promise<ServicePortState[]> {
    return withMode(this.mode, this.readOwned().then((o) => o.states));
  }

  render(plan: Plan): string {
    // After apply() the view has moved on: give back what was applied for that plan.
    if (this.applied?.plan === plan) return this.applied.text;
    return renderRestore(plan, this.view ?? emptyView(), this.rules).text;
  }

  async apply(plan: Plan): Promise<ApplyStats> {
    return withMode(this.mode, this.doApply(plan));
  }

  private async doApply(plan: Plan): Promise<ApplyStats> {
    const b = await this.iptables();
    if (!this.view) await this.readOwned();
    const r = renderRestore(plan, this.view!, this.rules);
    const t0 = performance.now();
    await b.restore(r.text);
    this.applied = { plan, text: r.text };
    const kernelMs = performance.now() - t0;
    this.view = r.after;
    const flushed = await flushStaleUdp(this.netns, plan.changes);
    return { written: r.written, removed: r.removed, kernelMs, detail: { rules: r.rules, conntrackFlushes: flushed } };
  }

  async cleanup(): Promise<void> {
    await withMode(
      this.mode,
      (async () => {
        const owned = await this.readOwned();
        if (owned.view.nat.size + owned.view.filter.size + owned.jumpLines.length === 0) return;
        await (await this.iptables()).restore(renderCleanup(owned.view, owned.jumpLines));
        this.view = emptyView();
      })(),
    );
  }

  async close(): Promise<void> {}
}

const emptyView = (): KernelView => ({ nat: new Set(), filter: new Set(), jumps: new Set() });
