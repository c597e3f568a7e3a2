/**
 * bpf mode: cgroup sock_addr programs translate a service frontend to a
 * backend at connect()/sendmsg() time, for sockets in one cgroup v2
 * directory (DataplaneOptions.cgroup). Maps and links are pinned under
 * <bpffs>/svcproxy/<instance>/ so forwarding outlives this process and a
 * restart re-adopts them. Out of scope: packets forwarded through the node
 * and NodePort traffic from remote clients (no per-packet NAT here).
 */
import { existsSync, rmdirSync } from 'node:fs';
import { SvcproxyError, withMode } from '../../errors.js';
import { bpfAddon } from '../../native/bpf.js';
import type { Plan, ServicePortState } from '../../plan/types.js';
import type { ApplyStats, Capability, Dataplane, DataplaneOptions } from '../types.js';
import { BPF_FS_MAGIC, CGROUP2_SUPER_MAGIC, detectBpf, fsType } from './detect.js';
import type { Programmed } from './entries.js';
import { nodeAddresses, nodeAddrOps } from './nodeaddrs.js';
import { bpffsRoot, objectPath, pinPaths, pinRoot, type PinPaths } from './paths.js';
import { decodeState } from './read.js';
import { renderBpf } from './render.js';
import { commitSync, MetaIds, planSync } from './sync.js';
import { ADDR_KEY, decodeAddr, SVP_MAX_META as MAX_META } from './layout.js';

/** how long the node's address list is trusted before `ip addr` is asked again */
const NODE_ADDRS_TTL_MS = 5000;

class BpfDataplane implements Dataplane {
  readonly mode = 'bpf' as const;
  private index: Map<string, Programmed> | undefined;
  private ids = new MetaIds(MAX_META);
  private nodeAddrs: string[] | undefined;
  private nodeAddrsAt: number | undefined;
  private loaded = false;

  constructor(private readonly opts: DataplaneOptions) {}

  detect(): Promise<Capability> {
    return detectBpf(this.opts.cgroup);
  }

  private paths(op: string): PinPaths {
    const cg = this.opts.cgroup;
    if (!cg) throw new SvcproxyError('bpf mode needs a cgroup: pass --cgroup PATH (a cgroup v2 directory, e.g. the root of the hierarchy on a node)', { code: 'EINVAL', op, mode: 'bpf' });
    if (fsType(cg) !== CGROUP2_SUPER_MAGIC) throw new SvcproxyError(`--cgroup ${cg} is not a cgroup v2 directory`, { code: 'EINVAL', op, mode: 'bpf' });
    if (fsType(bpffsRoot()) !== BPF_FS_MAGIC) throw new SvcproxyError(`no bpffs mounted at ${bpffsRoot()} (mount -t bpf bpffs ${bpffsRoot()})`, { code: 'ENOMODE', op, mode: 'bpf' });
    return pinPaths(cg);
  }

  private async ensureLoaded(p: PinPaths): Promise<void> {
    if (this.loaded) return;
    if (!existsSync(objectPath())) throw new SvcproxyError(`BPF object ${objectPath()} is missing: run npm run build:bpf`, { code: 'ENOENT', op: 'bpf.load', mode: 'bpf' });
    await bpfAddon().bpfLoad({ object: objectPath(), pinDir: p.dir, cgroup: this.opts.cgroup! });
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
    await withMode('bpf', this.ensureLoaded(p));
    if (!this.index) await this.read();
    // Node addresses are re-read at most every few seconds: spawning `ip`
    // costs more than a whole one-service sync.
    const fresh = this.nodeAddrsAt !== undefined && performance.now() - this.nodeAddrsAt < NODE_ADDRS_TTL_MS;
    const want = fresh && this.nodeAddrs ? this.nodeAddrs : await nodeAddresses(this.opts.netns);
    const tPlan = performance.now();
    const sync = planSync(plan.changes, this.index!, this.ids, p);
    const planMs = performance.now() - tPlan;
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

  render(plan: Plan): string {
    return renderBpf(plan);
  }

  async cleanup(): Promise<void> {
    const p = this.paths('cleanup');
    await withMode('bpf', bpfAddon().bpfUnload(p.dir));
    try {
      rmdirSync(pinRoot()); // only when no other instance is left
    } catch {
      /* not empty or already gone */
    }
    this.loaded = false;
    this.index = undefined;
    this.nodeAddrs = undefined;
    this.nodeAddrsAt = undefined;
  }

  async close(): Promise<void> {}
}

export function createBpfDataplane(opts: DataplaneOptions): Dataplane {
  return new BpfDataplane(opts);
}
