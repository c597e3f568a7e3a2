/**
 * The public API: open() a mode in a namespace, then apply / diff / read /
 * cleanup / switchMode. Every apply is a transaction: the input is validated
 * completely (model/), turned into a plan against what the kernel holds
 * (plan/), and only then handed to the dataplane, which applies it
 * atomically where the kernel allows.
 */
import { hostname } from 'node:os';
import { SvcproxyError } from '../errors.js';
import { closeNetns, isNetnsHandle, openNetns } from '../native/netns.js';
import { createDataplane } from '../dataplanes/registry.js';
import { MODES, type ApplyStats, type Capability, type Dataplane, type DataplaneOptions, type Mode } from '../dataplanes/types.js';
import type { Service, ServiceSet } from '../model/types.js';
import { diff, flatten, renderChangeSet, type ChangeSet, type Plan, type ServicePortState } from '../plan/index.js';
import { CONNTRACK_MODES, reconcileUdpConntrack, type UdpFlow } from '../dataplanes/conntrack/reconcile.js';
import { recommend } from './choose.js';
import { AppliedList } from './applied.js';
import { removeKeeper } from '../dataplanes/handover/keeper.js';
import { handOver, type SwitchResult } from './switch.js';

/** service-port lines in ApplyResult.summary before "... and N more" (a 30k sync is not a 30k-line string) */
const SUMMARY_LIMIT = 200;

export interface OpenOptions extends DataplaneOptions {
  /** a mode, or 'auto' for the best usable one (see choose.ts) */
  mode: Mode | 'auto';
}

/** A partial change for ServiceProxy.update(): services to add or replace whole, and services to delete. */
export interface ServiceChange {
  set?: Service[];
  remove?: { namespace: string; name: string }[];
}

export interface ApplyOptions {
  /** compute and render the plan, touch nothing */
  dryRun?: boolean;
}

export interface ApplyResult {
  plan: Plan;
  /** the change set as text */
  summary: string;
  /** the mode's own rendering (rules), for --dry-run; computed on first read (it can be megabytes) */
  readonly rules: string;
  /** undefined for a dry run */
  stats?: ApplyStats;
}

/** slot -> port, or null to empty it; a slot past the end is a push, in order */
type SlotWrite = [slot: number, state: ServicePortState | null];

function writeSlots(list: AppliedList, writes: SlotWrite[]): void {
  for (const [slot, x] of writes) {
    if (slot < list.slots) list.set(slot, x);
    else list.push(x!);
  }
}

/** A dry run's desired list: the writes on a fork, so the applied list stays as it was. */
function scratchView(applied: AppliedList, writes: SlotWrite[]): () => ServicePortState[] {
  const scratch = applied.fork();
  writeSlots(scratch, writes);
  return () => scratch.toArray();
}

/** namespace -> names a change touches (set or removed) */
function touchedOwners(change: ServiceChange): Map<string, Set<string>> {
  const touched = new Map<string, Set<string>>();
  for (const x of [...(change.set ?? []), ...(change.remove ?? [])]) (touched.get(x.namespace) ?? touched.set(x.namespace, new Set()).get(x.namespace)!).add(x.name);
  return touched;
}

export class ServiceProxy {
  /** what the kernel holds, as last read or applied (svcproxy knows what it programmed) */
  private applied?: AppliedList;
  private capability?: Capability;
  /** the last service set applied, so a mode switch can program it in full... */
  private lastSet?: ServiceSet;
  /** ...with the services update() replaced (null: removed) since then */
  private overrides = new Map<string, Service | null>();

  private currentSet(): ServiceSet | undefined {
    if (!this.lastSet || this.overrides.size === 0) return this.lastSet;
    const kept = this.lastSet.services.filter((x) => !this.overrides.has(`${x.namespace}/${x.name}`));
    const added = [...this.overrides.values()].filter((x): x is Service => x !== null);
    this.lastSet = { services: kept.concat(added), ignored: this.lastSet.ignored };
    this.overrides.clear();
    return this.lastSet;
  }

  constructor(
    private current: Dataplane,
    private readonly opts: DataplaneOptions = {},
  ) {}

  get dataplane(): Dataplane {
    return this.current;
  }

  get mode(): Dataplane['mode'] {
    return this.current.mode;
  }

  async detect(): Promise<Capability> {
    this.capability ??= await this.current.detect();
    return this.capability;
  }

  private async ensureUsable(): Promise<Capability> {
    const cap = await this.detect();
    if (!cap.usable) {
      throw new SvcproxyError(`${this.mode} mode is not usable here: ${cap.reason}`, { code: 'ENOMODE', op: 'open', mode: this.mode });
    }
    return cap;
  }

  /** Desired ServicePortStates for a service set, with this mode's families. */
  async desired(set: ServiceSet): Promise<ServicePortState[]> {
    const cap = await this.ensureUsable();
    return flatten(set.services, { nodeName: this.opts.nodeName ?? hostname(), nodeZone: this.opts.nodeZone, families: cap.families });
  }

  private async appliedList(): Promise<AppliedList> {
    this.applied ??= new AppliedList(await this.current.read());
    return this.applied;
  }

  async plan(set: ServiceSet): Promise<Plan> {
    const desired = await this.desired(set);
    const actual = (await this.appliedList()).toArray();
    return { desired, actual, changes: diff(desired, actual) };
  }

  async diff(set: ServiceSet): Promise<ChangeSet> {
    return (await this.plan(set)).changes;
  }

  async apply(set: ServiceSet, options: ApplyOptions = {}): Promise<ApplyResult> {
    const plan = await this.plan(set);
    const result = this.result(plan);
    if (options.dryRun) return result;
    try {
      result.stats = await this.current.apply(plan);
      this.applied = new AppliedList(plan.desired);
      // built now, not on the first update(): that one would pay ~20 ms at 30k
      this.indexOwners(this.applied);
      this.lastSet = set;
      this.overrides.clear();
    } catch (e) {
      this.applied = undefined; // re-read next time: the kernel is the judge
      throw e;
    }
    return result;
  }

  /**
   * Apply a change to some services only, as a controller watching the API
   * server would (kube-proxy's change tracker): `set` services are added or
   * replaced whole, `remove` ones deleted, everything else stays as last
   * applied. Only the touched services are flattened and diffed, so one
   * endpoint change costs the same among 30,000 services as among 10.
   */
  /**
   * Delete UDP conntrack flows NATed to something that is no longer an
   * endpoint of the Service port they were sent to (kube-proxy 1.32's
   * reconciler); meant for a timer. Flows that did not go through a Service
   * are left alone. A no-op for modes without NAT flows (bpf).
   */
  async reconcileConntrack(): Promise<UdpFlow[]> {
    if (!CONNTRACK_MODES.includes(this.mode)) return [];
    const states = (await this.appliedList()).toArray();
    return reconcileUdpConntrack({ netns: this.opts.netns, states });
  }

  async update(change: ServiceChange, options: ApplyOptions = {}): Promise<ApplyResult> {
    const cap = await this.ensureUsable();
    const applied = await this.appliedList();
    const touched = touchedOwners(change);
    const fresh = flatten(change.set ?? [], { nodeName: this.opts.nodeName ?? hostname(), nodeZone: this.opts.nodeZone, families: cap.families });
    const { before, writes, owners } = this.splice(applied, fresh, touched);
    const changes = diff(fresh, before);
    changes.unchanged += applied.length - before.length;
    // the lists as views: a dataplane syncing only the changes never builds them
    const actualView = applied.snapshot();
    const desiredView = options.dryRun ? scratchView(applied, writes) : this.commitWrites(applied, writes, owners);
    const plan: Plan = {
      changes,
      get desired() {
        return desiredView();
      },
      get actual() {
        return actualView();
      },
    };
    const result = this.result(plan);
    if (options.dryRun) return result;
    try {
      result.stats = await this.current.apply(plan);
      this.remember(change, touched);
    } catch (e) {
      this.applied = undefined;
      throw e;
    }
    return result;
  }

  /** The plan as an ApplyResult: its text now, the mode's rendering when first read. */
  private result(plan: Plan): ApplyResult {
    const dataplane = this.current;
    let rules: string | undefined;
    return {
      plan,
      summary: renderChangeSet(plan.changes, SUMMARY_LIMIT),
      get rules() {
        return (rules ??= dataplane.render(plan));
      },
    };
  }

  /** Written before the kernel call: if that fails, the list is dropped and re-read. */
  private commitWrites(applied: AppliedList, writes: SlotWrite[], owners: Map<string, number[]>): () => ServicePortState[] {
    writeSlots(applied, writes);
    for (const [k, slots] of owners) {
      if (slots.length > 0) this.positions!.map.set(k, slots);
      else this.positions!.map.delete(k);
    }
    const view = applied.snapshot();
    applied.settle();
    return view;
  }

  /** Remember an applied change for switchMode() without rebuilding the 30k-service list now. */
  private remember(change: ServiceChange, touched: Map<string, Set<string>>): void {
    if (!this.lastSet) return;
    for (const [ns, names] of touched) for (const n of names) this.overrides.set(`${ns}/${n}`, null);
    for (const x of change.set ?? []) this.overrides.set(`${x.namespace}/${x.name}`, x);
  }

  /** owner "namespace/name" -> slots of its ports in the applied list (valid for one epoch of it) */
  private positions?: { of: AppliedList; epoch: number; map: Map<string, number[]> };

  /** Where each owner's ports sit in `list` (so update() writes them without a 30k pass). */
  private indexOwners(list: AppliedList): void {
    const map = new Map<string, number[]>();
    for (let i = 0; i < list.slots; i++) {
      const x = list.at(i);
      if (x === null) continue;
      const k = `${x.namespace}/${x.name}`;
      const at = map.get(k);
      if (at) at.push(i);
      else map.set(k, [i]);
    }
    this.positions = { of: list, epoch: list.epoch, map };
  }

  /**
   * What an update writes, in O(touched ports): each touched owner's new
   * ports take its old slots, extra ones new slots at the end, and slots
   * left over are emptied (`writes`: slot -> port or null; a slot past the
   * end is a push, in order). `owners`: each touched owner's slots after.
   */
  private splice(applied: AppliedList, fresh: ServicePortState[], touched: Map<string, Set<string>>) {
    if (this.positions?.of !== applied || this.positions.epoch !== applied.epoch) this.indexOwners(applied);
    const positions = this.positions!;
    const byOwner = new Map<string, ServicePortState[]>();
    for (const x of fresh) {
      const k = `${x.namespace}/${x.name}`;
      (byOwner.get(k) ?? byOwner.set(k, []).get(k)!).push(x);
    }
    const before: ServicePortState[] = [];
    const writes: SlotWrite[] = [];
    const owners = new Map<string, number[]>();
    let next = applied.slots;
    for (const k of [...touched].flatMap(([ns, names]) => [...names].map((n) => `${ns}/${n}`))) {
      const old = positions.map.get(k) ?? [];
      const now = byOwner.get(k) ?? [];
      for (const i of old) before.push(applied.at(i)!);
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

  /** What svcproxy owns in the kernel now (always re-read). */
  async read(): Promise<ServicePortState[]> {
    await this.ensureUsable();
    const states = await this.current.read();
    this.applied = new AppliedList(states);
    return states;
  }

  /**
   * Move to another mode without losing connections: program the target
   * with the full desired state, verify it by reading it back, let the old
   * mode drain, then remove the old mode's state (make-before-break).
   */
  async switchMode(target: Mode, options: { drainTimeoutMs?: number } = {}): Promise<SwitchResult> {
    await this.ensureUsable();
    const next = await createDataplane(target, this.opts);
    const lastSet = this.currentSet();
    const states = lastSet ? undefined : (this.applied?.toArray() ?? (await this.current.read()));
    const result = await handOver({
      from: this.current,
      to: next,
      desired: (families) =>
        lastSet
          ? flatten(lastSet.services, { nodeName: this.opts.nodeName ?? hostname(), nodeZone: this.opts.nodeZone, families })
          : states!.filter((s) => families.includes(s.family)),
      drainTimeoutMs: options.drainTimeoutMs ?? 30_000,
      opts: this.opts,
    });
    await this.current.close();
    this.current = next;
    this.capability = undefined;
    this.applied = new AppliedList(result.desired);
    return result;
  }

  /** Remove this mode's state, and the hand-over keeper a switch may have left (keeper.ts). */
  async cleanup(): Promise<void> {
    await this.ensureUsable();
    await this.current.cleanup();
    await removeKeeper(this.opts).catch(() => false);
    this.applied = new AppliedList([]);
  }

  async close(): Promise<void> {
    await this.current.close();
    if (isNetnsHandle(this.opts.netns)) closeNetns(this.opts.netns);
  }
}

export async function open(opts: OpenOptions): Promise<ServiceProxy> {
  if (opts.mode !== 'auto' && !MODES.includes(opts.mode)) {
    throw new SvcproxyError(`mode: must be auto or one of ${MODES.join(', ')}, got ${JSON.stringify(opts.mode)}`, {
      code: 'EINVAL',
      op: 'open',
      field: 'mode',
    });
  }
  // The one namespace handle: every native call of this proxy gets it, and close() closes it.
  const netns = typeof opts.netns === 'string' && opts.netns !== '' ? await openNetnsFor(opts.netns) : opts.netns;
  const withHandle: OpenOptions = { ...opts, netns };
  try {
    const mode = opts.mode === 'auto' ? recommend(await detectAll(withHandle), { cgroup: opts.cgroup }).mode : opts.mode;
    return new ServiceProxy(await createDataplane(mode, withHandle), withHandle);
  } catch (e) {
    if (isNetnsHandle(netns) && netns !== opts.netns) closeNetns(netns);
    throw e;
  }
}

function openNetnsFor(name: string) {
  return openNetns(name).catch((e: SvcproxyError) => {
    throw new SvcproxyError(`netns: cannot enter network namespace ${JSON.stringify(name)}: ${e.message}`, { code: e.code, op: 'open', field: 'netns' });
  });
}

/** Every mode's capability in a namespace. */
export async function detectAll(opts: DataplaneOptions = {}): Promise<Capability[]> {
  return Promise.all(
    MODES.map(async (m) => {
      const dp = await createDataplane(m, opts);
      try {
        return await dp.detect();
      } finally {
        await dp.close();
      }
    }),
  );
}
