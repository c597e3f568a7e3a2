/**
 * Where each owner's ports sit in the applied list, and what a partial
 * change writes there. An owner is a Service ("namespace/name"); an update
 * touches a few owners, so it must find their slots without a pass over all
 * 30k entries (BENCHMARKS.md: one change among 30k stays ~O(1)).
 */
import type { ServicePortState } from '../plan/types.js';
import type { AppliedList } from './applied.js';

/** slot -> port, or null to empty it; a slot past the end is a push, in order */
export type SlotWrite = [slot: number, state: ServicePortState | null];

/** What a partial change writes, from splice(). */
export interface Splice {
  /** the touched owners' ports as applied now */
  before: ServicePortState[];
  writes: SlotWrite[];
  /** each touched owner's slots after the writes */
  owners: Map<string, number[]>;
}

export const ownerKey = (x: { namespace: string; name: string }): string => `${x.namespace}/${x.name}`;

export function writeSlots(list: AppliedList, writes: readonly SlotWrite[]): void {
  for (const [slot, x] of writes) {
    if (slot < list.slots) list.set(slot, x);
    else list.push(x!);
  }
}

/** owner -> slots of its ports in one list, valid for one epoch of it (a compaction renumbers slots) */
export class OwnerIndex {
  private of?: AppliedList;
  private epoch = -1;
  private map = new Map<string, number[]>();

  /** Index `list` now (a full apply: built then, not on the first update, which would pay ~20 ms at 30k). */
  index(list: AppliedList): void {
    const map = new Map<string, number[]>();
    for (let i = 0; i < list.slots; i++) {
      const x = list.at(i);
      if (x === null) continue;
      const k = ownerKey(x);
      const at = map.get(k);
      if (at) at.push(i);
      else map.set(k, [i]);
    }
    this.of = list;
    this.epoch = list.epoch;
    this.map = map;
  }

  /** The index for `list`, rebuilt if it was made for another list or epoch. */
  slotsIn(list: AppliedList): ReadonlyMap<string, number[]> {
    if (this.of !== list || this.epoch !== list.epoch) this.index(list);
    return this.map;
  }

  /** Record the owners' slots after their writes went into the list. */
  move(owners: ReadonlyMap<string, number[]>): void {
    for (const [k, slots] of owners) {
      if (slots.length > 0) this.map.set(k, slots);
      else this.map.delete(k);
    }
  }
}

/** The new ports of each touched owner, in flatten order. */
function groupByOwner(fresh: readonly ServicePortState[]): Map<string, ServicePortState[]> {
  const byOwner = new Map<string, ServicePortState[]>();
  for (const x of fresh) {
    const k = ownerKey(x);
    (byOwner.get(k) ?? byOwner.set(k, []).get(k)!).push(x);
  }
  return byOwner;
}

/**
 * What an update writes, in O(touched ports): each touched owner's new
 * ports take its old slots, extra ones new slots at the end, and slots
 * left over are emptied.
 */
export function splice(list: AppliedList, index: OwnerIndex, fresh: readonly ServicePortState[], touched: Iterable<string>): Splice {
  const positions = index.slotsIn(list);
  const byOwner = groupByOwner(fresh);
  const before: ServicePortState[] = [];
  const writes: SlotWrite[] = [];
  const owners = new Map<string, number[]>();
  let next = list.slots;
  for (const k of touched) {
    const old = positions.get(k) ?? [];
    const now = byOwner.get(k) ?? [];
    for (const i of old) before.push(list.at(i)!);
    const slots = now.map((x, j) => {
      const slot = j < old.length ? old[j]! : next++;
      writes.push([slot, x]);
      return slot;
    });
    for (const i of old.slice(now.length)) writes.push([i, null]);
    owners.set(k, slots);
  }
  return { before, writes, owners };
}
