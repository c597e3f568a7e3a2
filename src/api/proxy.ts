/**
 * The public API: open() a mode in a namespace, then apply / update / diff /
 * read / cleanup / switchMode. Every apply is a transaction: the input is
 * validated completely (model/), turned into a plan against what the kernel
 * holds by the ServiceStore (store/), and only then handed to the dataplane,
 * which applies it atomically where the kernel allows.
 */
import { hostname } from 'node:os';
import { SvcproxyError } from '../errors.js';
import { closeNetns, isNetnsHandle, openNetns } from '../native/netns.js';
import { createDataplane } from '../dataplanes/registry.js';
import { MODES, type ApplyStats, type Capability, type Dataplane, type DataplaneOptions, type Mode } from '../dataplanes/types.js';
import type { ServiceSet } from '../model/types.js';
import { renderChangeSet, type ChangeSet, type Plan, type ServicePortState } from '../plan/index.js';
import { reconcileUdpConntrack, type UdpFlow } from '../dataplanes/conntrack/reconcile.js';
import { ServiceStore, type ServiceChange, type StoreTransaction } from '../store/index.js';
import { recommend } from './choose.js';
import { removeKeeper } from '../dataplanes/handover/keeper.js';
import { handOver, type SwitchResult } from './switch.js';

/** service-port lines in ApplyResult.summary before "... and N more" (a 30k sync is not a 30k-line string) */
const SUMMARY_LIMIT = 200;

export interface OpenOptions extends DataplaneOptions {
  /** a mode, or 'auto' for the best usable one (see choose.ts) */
  mode: Mode | 'auto';
}

/** A partial change for ServiceProxy.update(): services to add or replace whole, and services to delete. */
export type { ServiceChange };

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

export class ServiceProxy {
  /** desired and applied state: the proxy only carries plans between it and the dataplane */
  private readonly store: ServiceStore;
  private capability?: Capability;

  constructor(
    private current: Dataplane,
    private readonly opts: DataplaneOptions = {},
  ) {
    this.store = new ServiceStore({ nodeName: opts.nodeName ?? hostname(), nodeZone: opts.nodeZone });
  }

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
    return this.store.desired(set.services, cap.families);
  }

  /** The store, with the applied list read from the kernel if it is not known. */
  private async loadedStore(): Promise<ServiceStore> {
    if (!this.store.loaded) this.store.load(await this.current.read());
    return this.store;
  }

  async plan(set: ServiceSet): Promise<Plan> {
    const cap = await this.ensureUsable();
    return (await this.loadedStore()).planSet(set, cap.families).plan;
  }

  async diff(set: ServiceSet): Promise<ChangeSet> {
    return (await this.plan(set)).changes;
  }

  async apply(set: ServiceSet, options: ApplyOptions = {}): Promise<ApplyResult> {
    const cap = await this.ensureUsable();
    return this.run((await this.loadedStore()).planSet(set, cap.families), options);
  }

  /**
   * Apply a change to some services only, as a controller watching the API
   * server would (kube-proxy's change tracker): `set` services are added or
   * replaced whole, `remove` ones deleted, everything else stays as last
   * applied. Only the touched services are flattened and diffed, so one
   * endpoint change costs the same among 30,000 services as among 10.
   */
  async update(change: ServiceChange, options: ApplyOptions = {}): Promise<ApplyResult> {
    const cap = await this.ensureUsable();
    return this.run((await this.loadedStore()).planChange(change, cap.families, options), options);
  }

  /** Hand a store transaction's plan to the dataplane (not for a dry run), and tell the store how it went. */
  private async run(tx: StoreTransaction, options: ApplyOptions): Promise<ApplyResult> {
    const result = this.result(tx.plan);
    if (options.dryRun) return result;
    try {
      result.stats = await this.current.apply(tx.plan);
    } catch (e) {
      tx.abort();
      throw e;
    }
    tx.commit();
    return result;
  }

  /**
   * Delete UDP conntrack flows NATed to something that is no longer an
   * endpoint of the Service port they were sent to (kube-proxy 1.32's
   * reconciler); meant for a timer. Flows that did not go through a Service
   * are left alone. A no-op for modes without NAT flows (bpf).
   */
  async reconcileConntrack(): Promise<UdpFlow[]> {
    if (!(await this.detect()).traits.nat) return [];
    const states = (await this.loadedStore()).states();
    return reconcileUdpConntrack({ netns: this.opts.netns, states });
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

  /** What svcproxy owns in the kernel now (always re-read). */
  async read(): Promise<ServicePortState[]> {
    await this.ensureUsable();
    const states = await this.current.read();
    this.store.load(states);
    return states;
  }

  /**
   * Move to another mode without losing connections: program the target
   * with the full desired state, verify it by reading it back, let the old
   * mode drain, then remove the old mode's state (make-before-break).
   */
  async switchMode(target: Mode, options: { drainTimeoutMs?: number } = {}): Promise<SwitchResult> {
    const fromCapability = await this.ensureUsable();
    const next = await createDataplane(target, this.opts);
    // with no full set applied, the target gets what the kernel holds
    const store = this.store.hasSet ? this.store : await this.loadedStore();
    const result = await handOver({
      from: this.current,
      fromCapability,
      to: next,
      desired: store.switchTarget(),
      drainTimeoutMs: options.drainTimeoutMs ?? 30_000,
      opts: this.opts,
    });
    await this.current.close();
    this.current = next;
    this.capability = undefined;
    this.store.load(result.desired);
    return result;
  }

  /** Remove this mode's state, and the hand-over keeper a switch may have left (keeper.ts). */
  async cleanup(): Promise<void> {
    await this.ensureUsable();
    await this.current.cleanup();
    await removeKeeper(this.opts).catch(() => false);
    this.store.load([]);
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
