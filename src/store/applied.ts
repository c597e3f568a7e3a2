/**
 * The ServicePortState list a ServiceProxy last applied. update() replaces,
 * removes or adds one service's ports: copying or filtering a 30k-entry
 * array for that cost ~0.2 ms on the host and 60-90 ms inside UML. Those
 * writes go to a log instead, and an array is built only when somebody asks
 * for one.
 *
 * Entries live in slots: a removed port leaves an empty slot (null), an
 * added one takes a new slot at the end, so slot numbers stay put until the
 * list is compacted; `epoch` counts the compactions that renumbered them.
 * Arrays handed out are never written again: a snapshot is the base array
 * plus the first n log entries, built on first use; compaction starts a new
 * base and a new log, leaving the old ones as they were.
 */
import type { ServicePortState } from '../plan/types.js';

type Log = [slot: number, state: ServicePortState | null][];

function build(base: readonly ServicePortState[], log: Log, n: number): ServicePortState[] {
  const out: (ServicePortState | null)[] = base.slice();
  let empty = false;
  for (let i = 0; i < n; i++) {
    const [slot, s] = log[i]!;
    out[slot] = s;
    empty ||= s === null;
  }
  return (empty ? out.filter((s) => s !== null) : out) as ServicePortState[];
}

export class AppliedList {
  private base: readonly ServicePortState[];
  private log: Log = [];
  /** slot -> newest write, for at() */
  private latest = new Map<number, ServicePortState | null>();
  /** slots added after base */
  private added = 0;
  /** slots emptied since base */
  private emptied = 0;
  /** compactions that renumbered slots (emptied ones went away) */
  epoch = 0;

  constructor(list: readonly ServicePortState[]) {
    this.base = list;
  }

  /** ports in the list */
  get length(): number {
    return this.base.length + this.added - this.emptied;
  }

  /** slots, empty ones included: at(0 .. slots - 1) */
  get slots(): number {
    return this.base.length + this.added;
  }

  at(slot: number): ServicePortState | null {
    const s = this.latest.get(slot);
    return s !== undefined ? s : (this.base[slot] ?? null);
  }

  /** Replace a slot's port, or empty it (null). */
  set(slot: number, s: ServicePortState | null): void {
    if (slot >= this.slots) throw new RangeError(`AppliedList.set: slot ${slot} of ${this.slots}`);
    if (s === null && this.at(slot) !== null) this.emptied++;
    if (s !== null && this.at(slot) === null) this.emptied--;
    this.log.push([slot, s]);
    this.latest.set(slot, s);
  }

  /** Add a port in a new slot at the end; returns the slot. */
  push(s: ServicePortState): number {
    const slot = this.slots;
    this.added++;
    this.log.push([slot, s]);
    this.latest.set(slot, s);
    return slot;
  }

  /** A copy in the same slot numbering, for writes that must not show here (dry runs). */
  fork(): AppliedList {
    const f = new AppliedList(this.base);
    f.log = this.log.slice();
    f.latest = new Map(this.latest);
    f.added = this.added;
    f.emptied = this.emptied;
    return f;
  }

  /** Compact when the log has grown past length/8 (amortized O(1) per write). Renumbers slots if any were emptied. */
  settle(): void {
    if (this.log.length > 64 + this.base.length / 8) this.toArray();
  }

  /** The list as it is now, built when first called (later writes do not show in it). */
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
      if (this.emptied > 0) this.epoch++;
      this.log = [];
      this.latest = new Map();
      this.added = 0;
      this.emptied = 0;
    }
    return this.base as ServicePortState[];
  }
}
