/**
 * ServiceStore: the one owner of desired and applied state, like
 * kube-proxy's change tracker. It knows the last service set applied (for a
 * mode switch), what the kernel holds (the applied list, as last read or
 * applied) and where each Service's ports sit in that list, and turns a full
 * set or a partial change into a Plan. It never talks to the kernel: the
 * caller loads what a dataplane read, hands the plan to the dataplane, and
 * reports back with the transaction's commit() or abort().
 *
 * Failure semantics: a partial change writes the applied list before the
 * kernel call (its plan's lists are views on it); if the call fails, abort()
 * drops the list so it is re-read from the kernel next time.
 */
import type { Service, ServiceSet } from '../model/types.js';
import { diff, flatten, type Family, type Plan, type ServicePortState } from '../plan/index.js';
import { AppliedList } from './applied.js';
import { LastSet } from './lastset.js';
import { OwnerIndex, ownerKey, splice, writeSlots, type Splice } from './positions.js';

/** A partial change: services to add or replace whole, and services to delete. */
export interface ServiceChange {
  set?: Service[];
  remove?: { namespace: string; name: string }[];
}

export interface StoreOptions {
  /** the node this proxy runs on (local endpoints, topology) */
  nodeName: string;
  nodeZone?: string;
}

/** A plan waiting for the kernel: commit() once the dataplane applied it, abort() if that failed. */
export interface StoreTransaction {
  plan: Plan;
  commit(): void;
  abort(): void;
}

/** "namespace/name" of every service a change touches (set or removed), grouped by namespace as given. */
function touchedOwners(change: ServiceChange): string[] {
  const touched = new Map<string, Set<string>>();
  for (const x of [...(change.set ?? []), ...(change.remove ?? [])]) (touched.get(x.namespace) ?? touched.set(x.namespace, new Set()).get(x.namespace)!).add(x.name);
  return [...touched].flatMap(([ns, names]) => [...names].map((name) => ownerKey({ namespace: ns, name })));
}

export class ServiceStore {
  /** what the kernel holds, as last read or applied (undefined: read it first) */
  private applied?: AppliedList;
  private readonly index = new OwnerIndex();
  private readonly last = new LastSet();

  constructor(private readonly opts: StoreOptions) {}

  /** whether the applied list is known; if not, load() what the dataplane reads */
  get loaded(): boolean {
    return this.applied !== undefined;
  }

  /** What the kernel holds now (a read, a switch's result, [] after a cleanup). */
  load(states: readonly ServicePortState[]): void {
    this.applied = new AppliedList(states);
  }

  /** Forget the applied list: the kernel is the judge, re-read it next time. */
  forget(): void {
    this.applied = undefined;
  }

  /** The applied list as an array. */
  states(): ServicePortState[] {
    return this.list().toArray();
  }

  /** Desired ServicePortStates of some services, for a mode's families. */
  desired(services: readonly Service[], families: Family[]): ServicePortState[] {
    return flatten(services as Service[], { nodeName: this.opts.nodeName, nodeZone: this.opts.nodeZone, families });
  }

  /** whether a full set was applied: then a switch needs no applied list (switchTarget) */
  get hasSet(): boolean {
    return this.last.known;
  }

  /** What a mode switch programs: the last set in full, or what the kernel held if no set was applied. */
  switchTarget(): (families: Family[]) => ServicePortState[] {
    const set = this.last.current();
    if (set) return (families) => this.desired(set.services, families);
    const states = this.states();
    return (families) => states.filter((s) => families.includes(s.family));
  }

  /** A plan from a full set against the applied list. */
  planSet(set: ServiceSet, families: Family[]): StoreTransaction {
    const desired = this.desired(set.services, families);
    const actual = this.states();
    const plan: Plan = { desired, actual, changes: diff(desired, actual) };
    return {
      plan,
      commit: () => {
        this.applied = new AppliedList(desired);
        this.index.index(this.applied);
        this.last.replace(set);
      },
      abort: () => this.forget(),
    };
  }

  /**
   * A plan from a partial change, in O(touched ports): only the touched
   * services are flattened and diffed, so one endpoint change costs the same
   * among 30,000 services as among 10. Its desired and actual lists are
   * views, built only if a dataplane (or caller) reads them.
   */
  planChange(change: ServiceChange, families: Family[], options: { dryRun?: boolean } = {}): StoreTransaction {
    const applied = this.list();
    const touched = touchedOwners(change);
    const fresh = this.desired(change.set ?? [], families);
    const spliced = splice(applied, this.index, fresh, touched);
    const changes = diff(fresh, spliced.before);
    changes.unchanged += applied.length - spliced.before.length;
    const actualView = applied.snapshot();
    const desiredView = options.dryRun ? scratchView(applied, spliced) : this.write(applied, spliced);
    const plan: Plan = {
      changes,
      get desired() {
        return desiredView();
      },
      get actual() {
        return actualView();
      },
    };
    if (options.dryRun) return { plan, commit: () => {}, abort: () => {} };
    return { plan, commit: () => this.last.override(touched, change.set ?? []), abort: () => this.forget() };
  }

  private list(): AppliedList {
    if (!this.applied) throw new Error('ServiceStore: the applied list is not loaded (load() what the kernel holds first)');
    return this.applied;
  }

  /** Written before the kernel call: if that fails, abort() drops the list. */
  private write(applied: AppliedList, s: Splice): () => ServicePortState[] {
    writeSlots(applied, s.writes);
    this.index.move(s.owners);
    const view = applied.snapshot();
    applied.settle();
    return view;
  }
}

/** A dry run's desired list: the writes on a fork, so the applied list stays as it was. */
function scratchView(applied: AppliedList, s: Splice): () => ServicePortState[] {
  const scratch = applied.fork();
  writeSlots(scratch, s.writes);
  return () => scratch.toArray();
}
