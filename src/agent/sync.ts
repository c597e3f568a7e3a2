/**
 * The agent's sync loop: tracker changes go to ServiceProxy.update() through
 * the bounded-frequency runner. The first sync and every periodic one are a
 * full reconcile: apply() diffs the whole desired set against what the kernel
 * holds (read back), so a restart adopts existing rules and drift is repaired
 * by the same proxy, never a flush (a dataplane that remembers what it wrote,
 * like nftables, forgets it when read() finds the kernel differs). A periodic
 * reconcile first applies pending changes as an update, so what the full diff
 * then finds is drift only.
 */
import type { ServiceProxy } from '../api/proxy.js';
import { displayName, type ChangeSet } from '../plan/index.js';
import { BoundedFrequencyRunner } from './runner.js';
import type { ChangeTracker } from './tracker.js';

/** repaired service ports named in a report (a drift of thousands is summarised by its count) */
const REPAIR_NAMES = 20;

export interface SyncReport {
  full: boolean;
  /** a periodic full reconcile after the first sync: what it changed was drift, repaired */
  repaired: boolean;
  /** service ports added, changed, removed in the kernel */
  added: number;
  changed: number;
  removed: number;
  /** service ports programmed after the sync */
  owned: number;
  /** for a repair: the first service ports it re-programmed, "+ ns/name:port" / "~ ..." / "- ..." */
  repairs: string[];
  kernelMs: number;
  totalMs: number;
}

export interface SyncLoopOptions {
  proxy: ServiceProxy;
  tracker: ChangeTracker;
  minSyncPeriodMs: number;
  syncPeriodMs: number;
  /** a sync is about to take the tracker's pending changes */
  onStart?: () => void;
  onSync?: (r: SyncReport) => void;
  onError?: (e: unknown) => void;
}

export class SyncLoop {
  private readonly runner: BoundedFrequencyRunner;
  private synced = false;
  private started = false;
  /** Date.now() of the last successful sync (healthz reads it) */
  lastSyncAt = 0;
  private readonly proxy: ServiceProxy;

  constructor(private readonly opts: SyncLoopOptions) {
    this.proxy = opts.proxy;
    this.runner = new BoundedFrequencyRunner({
      minIntervalMs: opts.minSyncPeriodMs,
      maxIntervalMs: opts.syncPeriodMs,
      sync: (periodic) => this.sync(periodic),
      onError: opts.onError,
    });
  }

  /** Start after the informers' first lists: the first sync is a full reconcile. */
  start(): void {
    this.started = true;
    this.runner.start();
    this.runner.run();
  }

  /** Something changed in the tracker (before start() the lists are still coming in: the first sync waits for them). */
  changed(): void {
    if (this.started) this.runner.run();
  }

  stop(): Promise<void> {
    return this.runner.stop();
  }

  private async sync(periodic: boolean): Promise<void> {
    const { tracker } = this.opts;
    if (!this.synced) return this.full(false);
    if (tracker.pending > 0) await this.partial();
    if (periodic) await this.full(true);
  }

  private async partial(): Promise<void> {
    const t0 = performance.now();
    this.opts.onStart?.();
    const r = await this.proxy.update(this.opts.tracker.take());
    this.done(t0, r.plan.changes, r.stats?.kernelMs ?? 0, false, false);
  }

  private async full(repair: boolean): Promise<void> {
    const t0 = performance.now();
    const { tracker } = this.opts;
    this.opts.onStart?.();
    tracker.take(); // the full set covers the dirty ones
    const set = { services: tracker.all(), ignored: [] };
    // the kernel is the judge: drift shows up in the diff (and a dataplane that
    // remembers what it wrote forgets it when read() finds the kernel differs)
    await this.proxy.read();
    const r = await this.proxy.apply(set);
    this.synced = true;
    this.done(t0, r.plan.changes, r.stats?.kernelMs ?? 0, true, repair);
  }

  private done(t0: number, c: ChangeSet, kernelMs: number, full: boolean, repaired: boolean): void {
    this.lastSyncAt = Date.now();
    const repairs = repaired ? repairNames(c) : [];
    this.opts.onSync?.({
      full,
      repaired,
      added: c.added.length,
      changed: c.changed.length,
      removed: c.removed.length,
      owned: c.unchanged + c.added.length + c.changed.length,
      repairs,
      kernelMs,
      totalMs: performance.now() - t0,
    });
  }
}

function repairNames(c: ChangeSet): string[] {
  const port = (s: { port: number; protocol: string; family: number }) => `/${s.protocol}:${s.port} v${s.family}`;
  return [
    ...c.added.map((s) => `+ ${displayName(s)}${port(s)}`),
    ...c.changed.map((x) => `~ ${displayName(x.after)}${port(x.after)} (${[...x.what].join(',')})`),
    ...c.removed.map((s) => `- ${displayName(s)}${port(s)}`),
  ].slice(0, REPAIR_NAMES);
}
