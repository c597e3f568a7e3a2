/**
 * The agent's sync loop: tracker changes go to ServiceProxy.update() through
 * the bounded-frequency runner. The first sync and every periodic one are a
 * full reconcile: apply() diffs the whole desired set against what the kernel
 * holds (read back), so a restart adopts existing rules and drift is repaired
 * with only the difference, never a flush.
 */
import type { ServiceProxy } from '../api/proxy.js';
import { BoundedFrequencyRunner } from './runner.js';
import type { ChangeTracker } from './tracker.js';

export interface SyncReport {
  full: boolean;
  /** service ports added, changed, removed in the kernel */
  added: number;
  changed: number;
  removed: number;
  kernelMs: number;
  totalMs: number;
}

export interface SyncLoopOptions {
  proxy: ServiceProxy;
  tracker: ChangeTracker;
  minSyncPeriodMs: number;
  syncPeriodMs: number;
  onSync?: (r: SyncReport) => void;
  onError?: (e: unknown) => void;
}

export class SyncLoop {
  private readonly runner: BoundedFrequencyRunner;
  private synced = false;
  /** Date.now() of the last successful sync (healthz reads it) */
  lastSyncAt = 0;

  constructor(private readonly opts: SyncLoopOptions) {
    this.runner = new BoundedFrequencyRunner({
      minIntervalMs: opts.minSyncPeriodMs,
      maxIntervalMs: opts.syncPeriodMs,
      sync: (periodic) => this.sync(periodic),
      onError: opts.onError,
    });
  }

  /** Start after the informers' first lists: the first sync is a full reconcile. */
  start(): void {
    this.runner.start();
    this.runner.run();
  }

  /** Something changed in the tracker. */
  changed(): void {
    this.runner.run();
  }

  stop(): Promise<void> {
    return this.runner.stop();
  }

  private async sync(periodic: boolean): Promise<void> {
    const t0 = performance.now();
    const { proxy, tracker } = this.opts;
    const full = periodic || !this.synced;
    let r;
    if (full) {
      tracker.take(); // the full set covers the dirty ones
      await proxy.read(); // the kernel is the judge: drift shows up in the diff
      r = await proxy.apply({ services: tracker.all(), ignored: [] });
    } else {
      if (tracker.pending === 0) return;
      r = await proxy.update(tracker.take());
    }
    this.synced = true;
    this.lastSyncAt = Date.now();
    const c = r.plan.changes;
    this.opts.onSync?.({
      full,
      added: c.added.length,
      changed: c.changed.length,
      removed: c.removed.length,
      kernelMs: r.stats?.kernelMs ?? 0,
      totalMs: performance.now() - t0,
    });
  }
}
