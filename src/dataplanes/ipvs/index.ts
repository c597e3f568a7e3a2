/**
 * ipvs mode: kube-proxy's IPVS layout. One virtual server per frontend
 * (frontends.ts), VIPs as local routes on svcproxy0 (vips.ts), masquerade in an owned
 * iptables chain (masq.ts) with a hairpin ipset (hairpin.ts), an owned filter chain that
 * refuses services without endpoints and ClusterIP ports no service defines (filter.ts),
 * ownership in a record (state.ts). A sync touches only the virtual servers of changed
 * service ports and diffs their dests against the kernel (dests.ts): a removed TCP dest
 * with connections gets weight 0 and is deleted by a later sync once drained; UDP and
 * SCTP dests are deleted at once.
 *
 * Option `scheduler` (DataplaneOptions & { scheduler }): any kernel
 * scheduler (rr wrr lc wlc lblc lblcr dh sh sed nq mh fo ovf), default rr.
 */
import { readFile } from 'node:fs/promises';
import { SvcproxyError, withMode } from '../../errors.js';
import { IPVS_CMD, IPVS_SCHEDULERS, IP_VS_SVC_F, IpvsClient, describeService, type IpvsDest, type IpvsOp, type IpvsServiceSpec } from '../../native/ipvs.js';
import type { Netns } from '../../native/netns.js';
import { sortBackends } from '../../plan/flatten.js';
import { movesFrontends, type Backend, type Plan, type ServicePortState } from '../../plan/types.js';
import { detectBackend, type IptablesBackend } from '../netfilter/runner.js';
import type { ApplyStats, Capability, Dataplane, DataplaneOptions } from '../types.js';
import { boundVIPs, virtualServers, vsKey, type VirtualServer } from './frontends.js';
import { destOps } from './dests.js';
import { IpvsFilter, removeFilterChain, syncFilterChain } from './filter.js';
import { Hairpin } from './hairpin.js';
import { inMasqChain, removeMasq, syncMasq } from './masq.js';
import { ipvsSysctls } from './sysctls.js';
import { appendRecord, loadRecord, recorded, removeRecord, saveRecord, type IpvsRecord, type RecordEntry } from './state.js';
import { deleteAddresses, deleteDummy, ensureHolder, holderAddresses, holderVIPs, nodeAddresses, syncVIPRoutes, VipRefs } from './vips.js';
import { traitsOf } from '../traits.js';

export type IpvsDataplaneOptions = DataplaneOptions & { scheduler?: string };

/** Something other than endpoints changed: frontends (and so VIPs, masquerade, the record) to rewrite. */
const frontendsMoved = (plan: Plan) => plan.changes.added.length + plan.changes.removed.length > 0 || plan.changes.changed.some(movesFrontends);

/** Milliseconds per phase of an apply, for ApplyStats.detail. */
class Laps {
  readonly ms: Record<string, number> = {};
  private mark = performance.now();
  lap(name: string): void {
    const now = performance.now();
    this.ms[name] = (this.ms[name] ?? 0) + (now - this.mark);
    this.mark = now;
  }
}
const ESRCH_OK = (_: IpvsOp, code: string) => code === 'ESRCH' || code === 'ENOENT';

export function createIpvsDataplane(opts: IpvsDataplaneOptions): Dataplane {
  return new IpvsDataplane(opts);
}

export class IpvsDataplane implements Dataplane {
  readonly mode = 'ipvs' as const;
  private readonly netns: Netns;
  private readonly ipvs: IpvsClient;
  private readonly hairpin: Hairpin;
  private readonly filter: IpvsFilter;
  private readonly scheduler: string;
  private iptables?: IptablesBackend;
  private record?: IpvsRecord;
  private ready = false;
  /** VIPs and masquerade rules checked against the desired state in this process */
  private reconciled = false;
  /** how many desired ports use each VIP, from the last full VIP check on */
  private vipRefs?: VipRefs;

  constructor(private readonly opts: IpvsDataplaneOptions) {
    this.netns = opts.netns ?? '';
    this.ipvs = new IpvsClient(this.netns);
    this.hairpin = new Hairpin(this.netns);
    this.filter = new IpvsFilter(this.netns);
    this.scheduler = opts.scheduler ?? 'rr';
    if (!(IPVS_SCHEDULERS as readonly string[]).includes(this.scheduler)) {
      throw new SvcproxyError(`scheduler: unknown IPVS scheduler "${this.scheduler}" (one of ${IPVS_SCHEDULERS.join(' ')})`, {
        code: 'EINVAL',
        op: 'open',
        mode: 'ipvs',
        field: 'scheduler',
      });
    }
  }

  async detect(): Promise<Capability> {
    const versions: Record<string, string> = { kernel: (await readFile('/proc/sys/kernel/osrelease', 'utf8')).trim() };
    try {
      const info = await this.ipvs.info();
      versions.ipvs = info.version;
      const b = await this.ipt();
      versions.iptables = b.version;
      return { mode: this.mode, usable: true, versions, traits: traitsOf(this.mode), families: [4, 6], notes: [`IPVS ${info.version}, connection table ${info.connTabSize}`, `iptables-${b.flavour} for masquerade`] };
    } catch (e) {
      return { mode: this.mode, usable: false, reason: (e as Error).message, versions, traits: traitsOf(this.mode), families: [] };
    }
  }

  private async ipt(): Promise<IptablesBackend> {
    this.iptables ??= await detectBackend(this.netns, this.opts.iptablesBackend);
    return this.iptables;
  }

  private rec(): IpvsRecord {
    this.record ??= loadRecord(this.netns);
    return this.record;
  }

  private async setup(): Promise<void> {
    if (this.ready) return;
    await this.ipvs.info();
    // written in the target namespace only; which ones depends on the kernel (sysctls.ts)
    await this.ipvs.sysctl(ipvsSysctls((await readFile('/proc/sys/kernel/osrelease', 'utf8')).trim()));
    const r = this.rec();
    const holder = await ensureHolder(this.netns);
    const nodeIPs = r.states.size === 0 ? await nodeAddresses(this.netns) : r.nodeIPs;
    if (holder.dev !== r.holder || nodeIPs.join() !== r.nodeIPs.join()) appendRecord(this.netns, r, [{ meta: { holder: holder.dev, nodeIPs } }]);
    this.ready = true;
  }

  private servers(s: ServicePortState): VirtualServer[] {
    return virtualServers(s, { scheduler: this.scheduler, nodeIPs: this.rec().nodeIPs });
  }

  async read(): Promise<ServicePortState[]> {
    return withMode(this.mode, this.doRead());
  }

  private async doRead(): Promise<ServicePortState[]> {
    const r = (this.record = loadRecord(this.netns));
    if (r.states.size === 0) return [];
    const present = new Map((await this.ipvs.services()).map((s) => [vsKey(s), s]));
    const picks: { state: ServicePortState; vs: VirtualServer[]; cluster: IpvsServiceSpec; ext?: IpvsServiceSpec }[] = [];
    for (const state of r.states.values()) {
      const vs = this.servers(state).filter((v) => present.has(vsKey(v.spec)));
      const cluster = vs.find((v) => v.kind === 'cluster-ip');
      if (!cluster) continue;
      picks.push({ state, vs, cluster: cluster.spec, ext: vs.find((v) => v.kind !== 'cluster-ip')?.spec });
    }
    const specs = picks.flatMap((p) => (p.ext ? [p.cluster, p.ext] : [p.cluster]));
    const dests = await this.ipvs.dests(specs);
    const live = (d: IpvsDest[] | null | undefined): Backend[] => sortBackends((d ?? []).filter((x) => x.weight > 0).map((x) => ({ address: x.address, port: x.port })));
    let i = 0;
    return picks.map(({ state, vs, cluster, ext }) => {
      const internal = live(dests[i++]);
      // Without node ports or external IPs nothing receives external traffic (plan/flatten.ts).
      const external = ext ? live(dests[i++]) : [];
      const kinds = (k: VirtualServer['kind']) => new Set(vs.filter((v) => v.kind === k).map((v) => v.spec.address));
      const c = present.get(vsKey(cluster))!;
      return {
        ...state,
        externalIPs: state.externalIPs.filter((ip) => kinds('external-ip').has(ip)),
        loadBalancerIPs: state.loadBalancerIPs.filter((ip) => kinds('lb-ip').has(ip)),
        nodePort: state.nodePort !== null && (r.nodeIPs.length === 0 || kinds('node-port').size > 0) ? state.nodePort : null,
        affinitySeconds: c.flags & IP_VS_SVC_F.PERSISTENT ? c.timeout : null,
        internal,
        external,
        hasEndpoints: internal.length > 0 || external.length > 0 || state.hasEndpoints,
      };
    });
  }

  render(plan: Plan): string {
    const lines: string[] = [];
    const proto = (s: IpvsServiceSpec) => `${describeService(s)}`;
    for (const s of plan.changes.removed) for (const v of this.servers(s)) lines.push(`delete service ${proto(v.spec)}`);
    for (const s of [...plan.changes.added, ...plan.changes.changed.map((c) => c.after)]) {
      for (const v of this.servers(s)) {
        const persist = v.spec.timeout ? ` persistent ${v.spec.timeout}` : '';
        lines.push(`service ${proto(v.spec)} ${v.spec.scheduler}${persist}  # ${s.key} ${v.kind}`);
        for (const b of v.backends) lines.push(`  -> ${b.address}:${b.port} masq weight 1`);
      }
    }
    return lines.join('\n') + (lines.length ? '\n' : '');
  }

  async apply(plan: Plan): Promise<ApplyStats> {
    try {
      return await withMode(this.mode, this.doApply(plan));
    } catch (e) {
      // Whatever was half done, the next apply checks the holder, every VIP and masquerade rule again.
      this.reconciled = false;
      this.ready = false;
      throw e;
    }
  }

  private async doApply(plan: Plan): Promise<ApplyStats> {
    await this.setup();
    const r = this.rec();
    const t0 = performance.now();
    const laps = new Laps();
    const { ops, dels, kept } = this.serviceOps(plan);
    laps.lap('planMs');
    const draining = await destOps(this.ipvs, kept, r.draining, ops);
    laps.lap('destsMs');
    // VIPs, masquerade and the filter are reconciled in full on the first apply of a process (after a crash too).
    const full = !this.reconciled || r.states.size === 0;
    const { added, changed } = plan.changes;
    // Hairpin entries before the dests that could be picked for their own connections.
    if (full || !(await this.hairpin.add([...added, ...changed.map((c) => c.after)]))) await this.hairpin.rebuild(plan.desired);
    laps.lap('hairpinMs');
    await this.programServers(plan, { ops, dels, full }, laps);
    const kernelMs = performance.now() - t0;
    const after: RecordEntry[] = [];
    const masqRules = full ? await this.reconcileAll(plan, after, laps) : await this.updateFrontends(plan, after, laps);
    if (JSON.stringify(draining) !== JSON.stringify(r.draining)) after.push({ draining });
    appendRecord(this.netns, r, after);
    laps.lap('recordMs');
    const detail = { messages: ops.length + dels.length, draining: draining.length, masqRules, ...laps.ms };
    return { written: added.length + changed.length, removed: plan.changes.removed.length, kernelMs, detail };
  }

  /** Virtual servers to create and delete, and the kept ones whose dests are diffed against the kernel. */
  private serviceOps(plan: Plan): { ops: IpvsOp[]; dels: IpvsOp[]; kept: VirtualServer[] } {
    const { added, removed, changed } = plan.changes;
    const ops: IpvsOp[] = [];
    const dels: IpvsOp[] = [];
    const kept: VirtualServer[] = [];
    const fresh = (v: VirtualServer) => {
      ops.push({ cmd: IPVS_CMD.NEW_SERVICE, service: v.spec });
      for (const b of v.backends) ops.push({ cmd: IPVS_CMD.NEW_DEST, service: v.spec, dest: { ...b, fwd: 0, weight: 1 } });
    };
    for (const s of removed) for (const v of this.servers(s)) dels.push({ cmd: IPVS_CMD.DEL_SERVICE, service: v.spec });
    for (const s of added) for (const v of this.servers(s)) fresh(v);
    // Changed ports: frontends that went away, new ones, and the kept ones.
    for (const c of changed) {
      const before = new Map(this.servers(c.before).map((v) => [vsKey(v.spec), v]));
      for (const v of this.servers(c.after)) {
        const old = before.get(vsKey(v.spec));
        before.delete(vsKey(v.spec));
        if (!old) fresh(v);
        else {
          if (old.spec.flags !== v.spec.flags || old.spec.timeout !== v.spec.timeout) ops.push({ cmd: IPVS_CMD.SET_SERVICE, service: v.spec });
          kept.push(v);
        }
      }
      for (const v of before.values()) dels.push({ cmd: IPVS_CMD.DEL_SERVICE, service: v.spec });
    }
    return { ops, dels, kept };
  }

  /**
   * Old virtual servers go before the record forgets them: a port whose frontends moved is
   * recorded as it is after, so a death between the two would leave one nobody owns.
   */
  private async programServers(plan: Plan, o: { ops: IpvsOp[]; dels: IpvsOp[]; full: boolean }, laps: Laps): Promise<void> {
    await this.ipvs.apply(o.dels, { tolerate: ESRCH_OK });
    laps.lap('batchMs');
    if (frontendsMoved(plan)) {
      this.recordIntent(plan, o.full);
      laps.lap('recordMs');
    }
    await this.ipvs.apply(o.ops);
    laps.lap('batchMs');
  }

  /**
   * Intent first: a process killed mid-batch leaves only services the record names, so a
   * restart reads them back (and finishes or removes them) instead of failing on EEXIST.
   * Removed ports stay recorded until their virtual servers are gone.
   */
  private recordIntent(plan: Plan, full: boolean): void {
    const r = this.rec();
    const intent = full ? plan.desired : [...plan.changes.added, ...plan.changes.changed.filter(movesFrontends).map((c) => c.after)];
    if (full && intent.length > r.states.size / 2) {
      for (const x of intent) r.states.set(x.key, recorded(x));
      saveRecord(this.netns, r);
    } else {
      appendRecord(this.netns, r, intent.map((x) => ({ set: recorded(x) })));
    }
  }

  /** First apply of a process: every VIP, masquerade rule and filter entry checked; the masquerade rule count. */
  private async reconcileAll(plan: Plan, after: RecordEntry[], laps: Laps): Promise<number> {
    const vips = await this.syncVIPs(plan, after);
    laps.lap('vipsMs');
    const masqRules = await this.syncMasq(plan.desired);
    laps.lap('masqMs');
    // the sets before the chain that names them
    await this.filter.rebuild(plan.desired, { nodeIPs: this.rec().nodeIPs, vips });
    await syncFilterChain(await this.ipt());
    laps.lap('filterMs');
    const want = new Set(plan.desired.map((x) => x.key));
    for (const k of this.rec().states.keys()) if (!want.has(k)) after.push({ del: k });
    this.reconciled = true;
    return masqRules;
  }

  /** A later apply: the VIPs, masquerade rules and filter entries of the changed ports only. */
  private async updateFrontends(plan: Plan, after: RecordEntry[], laps: Laps): Promise<number> {
    const { added, removed, changed } = plan.changes;
    let masqRules = 0;
    let vips = { add: [] as string[], del: [] as string[] };
    if (frontendsMoved(plan)) {
      vips = await this.updateVIPs(plan, after);
      laps.lap('vipsMs');
      // The masquerade chain names external frontends (and Local node ports): rewritten when one of those moved.
      const moved = changed.filter(movesFrontends).flatMap((c) => [c.before, c.after]);
      if ([...added, ...removed, ...moved].some(inMasqChain)) masqRules = await this.syncMasq(plan.desired);
      laps.lap('masqMs');
      for (const x of removed) after.push({ del: x.key });
    }
    // endpoint changes too: a port that lost (or regained) its last endpoint moves in (or out of) the refusal set
    const before = [...removed, ...changed.map((c) => c.before)];
    await this.filter.update({ before, after: [...added, ...changed.map((c) => c.after)], nodeIPs: this.rec().nodeIPs, vips });
    laps.lap('filterMs');
    return masqRules;
  }

  private async syncMasq(states: ServicePortState[]): Promise<number> {
    return syncMasq(await this.ipt(), states, { ...this.opts, nodeIPs: this.rec().nodeIPs });
  }

  /** Every VIP route checked against the holder's VIP routes (first apply of a process); the VIPs wanted. */
  private async syncVIPs(plan: Plan, entries: RecordEntry[]): Promise<Set<string>> {
    const r = this.rec();
    this.vipRefs = new VipRefs(plan.desired.flatMap(boundVIPs));
    const want = this.vipRefs.addresses();
    // Earlier versions bound VIPs as addresses: those go (on svcproxy0 every address is ours; on lo the recorded ones).
    if (r.vips.size > 0) {
      const legacy = [...(await holderAddresses(this.netns, r.holder))].filter((a) => r.holder !== 'lo' || r.vips.has(a));
      await deleteAddresses(this.netns, r.holder, legacy);
    }
    const have = await holderVIPs(this.ipvs, r.holder);
    // On svcproxy0 every VIP route is ours; on lo only the ones recorded.
    const ours = r.holder === 'lo' ? new Set([...r.vips].filter((a) => have.has(a))) : have;
    const add = [...want].filter((a) => !have.has(a));
    const del = [...ours].filter((a) => !want.has(a));
    await syncVIPRoutes(this.ipvs, r.holder, add, del);
    entries.push({ vips: { add: [...want].filter((a) => !r.vips.has(a)), del: [...r.vips].filter((a) => !want.has(a)) } });
    return want;
  }

  /** Only the VIPs of the changed ports: bound when first used, removed when no port uses them; those bound and removed. */
  private async updateVIPs(plan: Plan, entries: RecordEntry[]): Promise<{ add: string[]; del: string[] }> {
    const refs = this.vipRefs;
    if (!refs) return { add: [...(await this.syncVIPs(plan, entries))], del: [] };
    const { added, removed, changed } = plan.changes;
    const { add, del } = refs.change(
      [...removed, ...changed.map((c) => c.before)].flatMap(boundVIPs),
      [...added, ...changed.map((c) => c.after)].flatMap(boundVIPs),
    );
    await syncVIPRoutes(this.ipvs, this.rec().holder, add, del);
    if (add.length + del.length > 0) entries.push({ vips: { add, del } });
    return { add, del };
  }

  /**
   * Before a mode switch removes IPVS: wait until no IPVS connection is
   * active (new connections already go to the next mode, whose DNAT runs
   * before IPVS sees the packet), at most timeoutMs. Connections still
   * active then are cut when the virtual servers go.
   */
  async drain(o: { timeoutMs: number }): Promise<void> {
    const r = (this.record = loadRecord(this.netns));
    const present = new Set((await this.ipvs.services()).map((v) => vsKey(v)));
    const specs = [...r.states.values()].flatMap((st) => this.servers(st).map((v) => v.spec)).filter((v) => present.has(vsKey(v)));
    const deadline = performance.now() + o.timeoutMs;
    while (specs.length > 0 && performance.now() < deadline) {
      const active = (await this.ipvs.dests(specs)).flat().reduce((n, d) => n + (d?.activeConns ?? 0), 0);
      if (active === 0) return;
      await new Promise((res) => setTimeout(res, 200));
    }
  }

  async cleanup(): Promise<void> {
    return withMode(this.mode, this.doCleanup());
  }

  private async doCleanup(): Promise<void> {
    const r = (this.record = loadRecord(this.netns));
    const dels: IpvsOp[] = [...r.states.values()].flatMap((s) => this.servers(s).map((v) => ({ cmd: IPVS_CMD.DEL_SERVICE, service: v.spec }) as IpvsOp));
    if (dels.length > 0) await this.ipvs.apply(dels, { tolerate: ESRCH_OK });
    if (r.holder === 'lo') {
      const have = await holderVIPs(this.ipvs, 'lo');
      await syncVIPRoutes(this.ipvs, 'lo', [], [...r.vips].filter((a) => have.has(a)));
    } else {
      await deleteDummy(this.netns);
    }
    try {
      const b = await this.ipt();
      await removeMasq(b);
      await removeFilterChain(b);
    } catch (e) {
      if (!(e instanceof SvcproxyError && e.code === 'ENOMODE')) throw e;
    }
    // after the chains that name them
    await this.hairpin.remove();
    await this.filter.remove();
    removeRecord(this.netns);
    this.record = undefined;
    this.ready = false;
    this.reconciled = false;
    // Nothing of ours is left there: do not keep the namespace alive with an open socket.
    await this.ipvs.close();
  }

  async close(): Promise<void> {
    await this.ipvs.close();
  }
}
