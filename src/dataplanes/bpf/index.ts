/**
 * bpf mode: cgroup sock_addr programs translate a service frontend to a
 * backend at connect()/sendmsg() time, for sockets in one cgroup v2
 * directory (DataplaneOptions.cgroup). Maps and links are pinned under
 * <bpffs>/svcproxy/<instance>/ (bpffs: DataplaneOptions.bpffs, a PATH or
 * 'auto', the default: see bpffs.ts; auto mounts a private bpffs when none
 * is, and cleanup unmounts it) so forwarding outlives this process and a
 * restart re-adopts them. Out of scope: packets forwarded through the node
 * and NodePort traffic from remote clients (no per-packet NAT here).
 *
 * A frontend without an endpoint for its traffic, decided at connect time:
 * - no endpoints at all (hasEndpoints false): kube-proxy REJECTs, so
 *   connect()/sendmsg() fail at once with ECONNREFUSED;
 * - endpoints, but none for this traffic (a Local traffic policy and no
 *   local endpoint): kube-proxy DROPs and its clients time out. There is no
 *   packet to drop here; the honest equivalent is failing at once with the
 *   errno such a client ends with, ETIMEDOUT. Letting the socket through
 *   untranslated was rejected: the VIP would go wherever it happens to
 *   route, possibly out of the node. Both cases are counted (counters()).
 */
import { existsSync, rmdirSync } from 'node:fs';
import { SvcproxyError, withMode } from '../../errors.js';
import { bpfAddon } from '../../native/bpf.js';
import type { Plan, ServicePortState } from '../../plan/types.js';
import type { ApplyStats, Capability, Dataplane, DataplaneOptions } from '../types.js';
import { bpffsLocation, ensureBpffs, noBpffs, releaseBpffs, type BpffsLocation } from './bpffs.js';
import { CGROUP2_SUPER_MAGIC, detectBpf, fsType } from './detect.js';
import { isBpffs } from './fs.js';
import type { Programmed } from './entries.js';
import { nodeAddresses, nodeAddrOps } from './nodeaddrs.js';
import { objectPath, pinPaths, pinRoot, type PinPaths } from './paths.js';
import { decodeState } from './read.js';
import { renderBpf } from './render.js';
import { checkChanges, commitSync, MetaIds, planSync, type SyncResult } from './sync.js';
import { ADDR_KEY, COUNTERS, decodeAddr, SVP_MAX_META as MAX_META } from './layout.js';

/** how long the node's address list is trusted before `ip addr` is asked again */
const NODE_ADDRS_TTL_MS = 5000;

/** Per service port, since its meta id was taken (atomic adds in the programs). */
export interface ServiceCounters {
  /** connect()/sendmsg() calls rewritten to an endpoint */
  translated: number;
  /** refused with ECONNREFUSED: the service has no endpoints */
  rejected: number;
  /** failed with ETIMEDOUT: endpoints exist, none for this traffic */
  dropped: number;
}

export interface BpfDataplane extends Dataplane {
  readonly mode: 'bpf';
  /** the programs' counters, by ServicePortState.key, for the ports programmed now */
  counters(): Promise<Map<string, ServiceCounters>>;
}

class BpfMapsDataplane implements BpfDataplane {
  readonly mode = 'bpf' as const;
  private index: Map<string, Programmed> | undefined;
  private ids = new MetaIds(MAX_META);
  private nodeAddrs: string[] | undefined;
  private nodeAddrsAt: number | undefined;
  private loaded = false;

  constructor(private readonly opts: DataplaneOptions) {}

  detect(): Promise<Capability> {
    return detectBpf(this.opts.cgroup, this.bpffs());
  }

  /** read each time: tests and the lab set SVCPROXY_BPFFS after creating the dataplane */
  private bpffs(): BpffsLocation {
    return bpffsLocation(this.opts.bpffs);
  }

  private paths(op: string): PinPaths {
    const cg = this.opts.cgroup;
    if (!cg) throw new SvcproxyError('bpf mode needs a cgroup: pass --cgroup PATH (a cgroup v2 directory, e.g. the root of the hierarchy on a node)', { code: 'EINVAL', op, mode: 'bpf' });
    if (fsType(cg) !== CGROUP2_SUPER_MAGIC) throw new SvcproxyError(`--cgroup ${cg} is not a cgroup v2 directory`, { code: 'EINVAL', op, mode: 'bpf' });
    // auto and not mounted yet: nothing can be pinned there; apply mounts it
    const bpffs = this.bpffs();
    if (!bpffs.mayMount && !isBpffs(bpffs.path)) throw noBpffs(bpffs.path, op);
    return pinPaths(cg, bpffs.path);
  }

  private async ensureLoaded(p: PinPaths): Promise<void> {
    if (this.loaded) return;
    if (!existsSync(objectPath())) throw new SvcproxyError(`BPF object ${objectPath()} is missing: run npm run build:bpf`, { code: 'ENOENT', op: 'bpf.load', mode: 'bpf' });
    const bpffs = this.bpffs();
    const mounted = await ensureBpffs(bpffs, 'bpf.load');
    try {
      await bpfAddon().bpfLoad({ object: objectPath(), pinDir: p.dir, cgroup: this.opts.cgroup! });
    } catch (e) {
      // just mounted, so nothing of another process is here: leave no mount behind
      if (mounted) await bpfAddon().bpfUnload(p.dir).then(() => releaseUnused(bpffs.path)).catch(() => undefined);
      throw e;
    }
    this.loaded = true;
  }

  /** Read what the pinned maps hold; also rebuilds the index apply() works from. */
  async read(): Promise<ServicePortState[]> {
    const p = this.paths('read');
    if (!existsSync(p.meta)) {
      this.index = new Map();
      this.ids = new MetaIds(MAX_META);
      return [];
    }
    const addon = bpfAddon();
    const [meta, services, backends, addrs] = await withMode(
      'bpf',
      Promise.all([addon.bpfMapDump(p.meta), addon.bpfMapDump(p.services), addon.bpfMapDump(p.backends), addon.bpfMapDump(p.nodeAddrs)]),
    );
    this.index = decodeState({ meta, services, backends });
    this.ids = new MetaIds(MAX_META);
    for (const e of this.index.values()) this.ids.mark(e.metaId);
    this.nodeAddrs = [];
    for (let i = 0; i < addrs.count; i++) {
      const fam = addrs.keys.readUInt32LE(i * addrs.keySize + ADDR_KEY.fields.family!.offset);
      this.nodeAddrs.push(decodeAddr(addrs.keys, i * addrs.keySize, fam));
    }
    return [...this.index.values()].map((e) => e.state).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async apply(plan: Plan): Promise<ApplyStats> {
    const p = this.paths('apply');
    if (!this.index) await this.read(); // nothing pinned yet: cheap, nothing is dumped
    // Bad input fails here, before anything is loaded or written.
    checkChanges(plan.changes, this.index!, this.ids);
    // Loading the programs (first apply, a worker thread) and asking for the
    // node's addresses (`ip`, at most every few seconds: spawning it costs
    // more than a one-service sync) run while the batches are encoded here.
    const loading = withMode('bpf', this.ensureLoaded(p));
    const fresh = this.nodeAddrsAt !== undefined && performance.now() - this.nodeAddrsAt < NODE_ADDRS_TTL_MS;
    const addrs = fresh && this.nodeAddrs ? Promise.resolve(this.nodeAddrs) : nodeAddresses(this.opts.netns);
    let sync: SyncResult;
    let want: string[];
    const tPlan = performance.now();
    try {
      sync = planSync(plan.changes, this.index!, this.ids, p, true);
    } catch (e) {
      await Promise.allSettled([loading, addrs]);
      throw e;
    }
    const planMs = performance.now() - tPlan;
    try {
      [, want] = await Promise.all([loading, addrs]);
    } catch (e) {
      await Promise.allSettled([loading, addrs]);
      for (const id of sync.takenIds) this.ids.release(id);
      throw e;
    }
    const ops = [...nodeAddrOps(p.nodeAddrs, want, this.nodeAddrs ?? []), ...sync.ops];
    const t0 = performance.now();
    try {
      await withMode('bpf', bpfAddon().bpfMapOps(ops));
    } catch (e) {
      for (const id of sync.takenIds) this.ids.release(id);
      this.index = undefined; // re-read: the kernel may hold part of the batches
      throw e;
    }
    const kernelMs = performance.now() - t0;
    for (const id of sync.releasedIds) this.ids.release(id);
    commitSync(this.index!, sync);
    if (!fresh) this.nodeAddrsAt = performance.now();
    this.nodeAddrs = want;
    return { written: sync.written, removed: sync.removed, kernelMs, detail: { mapElements: sync.elements, batches: ops.length, planMs } };
  }

  async counters(): Promise<Map<string, ServiceCounters>> {
    const p = this.paths('counters');
    const out = new Map<string, ServiceCounters>();
    if (!existsSync(p.counters)) return out;
    if (!this.index) await this.read();
    const keyOf = new Map<number, string>();
    for (const e of this.index!.values()) keyOf.set(e.metaId, e.state.key);
    const d = await withMode('bpf', bpfAddon().bpfMapDump(p.counters));
    const F = COUNTERS.fields;
    for (let i = 0; i < d.count; i++) {
      const key = keyOf.get(d.keys.readUInt32LE(i * d.keySize));
      if (key === undefined) continue;
      const v = i * d.valueSize;
      out.set(key, {
        translated: Number(d.values.readBigUInt64LE(v + F.translated!.offset)),
        rejected: Number(d.values.readBigUInt64LE(v + F.rejected!.offset)),
        dropped: Number(d.values.readBigUInt64LE(v + F.dropped!.offset)),
      });
    }
    return out;
  }

  render(plan: Plan): string {
    return renderBpf(plan);
  }

  async cleanup(): Promise<void> {
    const p = this.paths('cleanup');
    await withMode('bpf', bpfAddon().bpfUnload(p.dir));
    await withMode('bpf', releaseUnused(this.bpffs().path));
    this.loaded = false;
    this.index = undefined;
    this.nodeAddrs = undefined;
    this.nodeAddrsAt = undefined;
  }

  async close(): Promise<void> {}
}

/** After an instance's pins are gone: drop <bpffs>/svcproxy and a private bpffs svcproxy mounted, when no other instance is left. */
async function releaseUnused(bpffs: string): Promise<void> {
  try {
    rmdirSync(pinRoot(bpffs));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return; // another instance is left
  }
  await releaseBpffs(bpffs);
}

export function createBpfDataplane(opts: DataplaneOptions): BpfDataplane {
  return new BpfMapsDataplane(opts);
}
