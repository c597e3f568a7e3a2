/**
 * The desired service set as last applied, for a mode switch to program in
 * full: the last full set plus what update() replaced or removed since.
 * Changes are kept as overrides so one update among 30k services does not
 * rebuild the 30k-entry array; it is folded in only when somebody asks.
 */
import type { Service, ServiceSet } from '../model/types.js';
import { ownerKey } from './positions.js';

export class LastSet {
  private set?: ServiceSet;
  /** "namespace/name" -> the service as updated since, null: removed */
  private overrides = new Map<string, Service | null>();

  /** whether a full set was ever applied */
  get known(): boolean {
    return this.set !== undefined;
  }

  /** A full set was applied: it replaces everything. */
  replace(set: ServiceSet): void {
    this.set = set;
    this.overrides.clear();
  }

  /** An update was applied: `touched` owners are removed unless `set` brings them back. */
  override(touched: Iterable<string>, set: readonly Service[]): void {
    if (!this.set) return; // nothing to override: a switch reprograms what the kernel holds
    for (const k of touched) this.overrides.set(k, null);
    for (const x of set) this.overrides.set(ownerKey(x), x);
  }

  /** The set now (undefined: no full set was ever applied), overrides folded in. */
  current(): ServiceSet | undefined {
    if (!this.set || this.overrides.size === 0) return this.set;
    const kept = this.set.services.filter((x) => !this.overrides.has(ownerKey(x)));
    const added = [...this.overrides.values()].filter((x): x is Service => x !== null);
    this.set = { services: kept.concat(added), ignored: this.set.ignored };
    this.overrides.clear();
    return this.set;
  }
}
