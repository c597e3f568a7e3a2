/**
 * The ServicePortState list a Proxy last applied. update() replaces one
 * service's ports in place: copying a 30k-entry array for that cost ~0.2 ms,
 * most of a one-endpoint change's time in TypeScript. Replacements go to a
 * log instead, and an array is built only when somebody asks for one.
 *
 * Arrays handed out are never written again: a snapshot is the base array
 * plus the first n log entries, built on first use; compaction starts a new
 * base and a new log, leaving the old ones as they were.
 */
import type { ServicePortState } from '../plan/types.js';

type Log = [index: number, state: ServicePortState][];

function build(base: readonly ServicePortState[], log: Log, n: number): ServicePortState[] {
  const out = base.slice();
  for (let i = 0; i < n; i++) out[log[i]![0]] = log[i]![1];
  return out;
}

export class AppliedList {
  private base: readonly ServicePortState[];
  private log: Log = [];
  /** index -> newest replacement, for at() */
  private latest = new Map<number, ServicePortState>();

  constructor(list: readonly ServicePortState[]) {
    this.base = list;
  }

  get length(): number {
    return this.base.length;
  }

  at(i: number): ServicePortState {
    return this.latest.get(i) ?? this.base[i]!;
  }

  replace(i: number, s: ServicePortState): void {
    this.log.push([i, s]);
    this.latest.set(i, s);
    // amortized O(1): one copy per length/8 replacements
    if (this.log.length > 64 + this.base.length / 8) this.toArray();
  }

  /** The list as it is now, built when first called (later replacements do not show in it). */
  snapshot(): () => ServicePortState[] {
    const base = this.base;
    const log = this.log;
    const n = log.length;
    if (n === 0) return () => base as ServicePortState[];
    let built: ServicePortState[] | undefined;
    return () => (built ??= build(base, log, n));
  }

  /** The list now, as an array (the log starts over on it). */
  toArray(): ServicePortState[] {
    if (this.log.length > 0) {
      this.base = build(this.base, this.log, this.log.length);
      this.log = [];
      this.latest = new Map();
    }
    return this.base as ServicePortState[];
  }
}
