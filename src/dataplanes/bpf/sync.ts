/**
 * A change set as an ordered list of map batches. The order is the
 * publishing protocol: a connecting socket never sees a half-written
 * service.
 *   1. backends of the new generation (not referenced by anything yet)
 *   2. meta records
 *   3. frontends: publish (group, count) in one element write each
 *   4. frontends no longer wanted are deleted
 *   5. backends of the old generation, then meta of removed ports
 */
import type { BpfMapOp } from '../../native/bpf.js';
import type { ChangeSet, ServicePortState } from '../../plan/types.js';
import { checkStorable, externalShared, frontendId, frontendsOf, groupOf, metaFlags, type Programmed } from './entries.js';
import { BACKEND, BACKEND_KEY, META, META_ID_SIZE, SERVICE_KEY, SERVICE_VALUE } from './layout.js';
import {
  Batch,
  writeBackend,
  writeBackendKey,
  writeMeta,
  writeMetaId,
  writeServiceKey,
  writeServiceValue,
} from './pack.js';
import type { PinPaths } from './paths.js';

/** Allocates meta ids (the index of svp_counters too): smallest free first. */
export class MetaIds {
  private readonly used = new Set<number>();
  constructor(readonly max: number) {}
  take(): number {
    for (let id = this.lowest; id < this.max; id++) {
      if (!this.used.has(id)) {
        this.used.add(id);
        this.lowest = id + 1;
        return id;
      }
    }
    throw new Error(`bpf mode: more than ${this.max - 1} service ports`);
  }
  mark(id: number): void {
    this.used.add(id);
  }
  release(id: number): void {
    this.used.delete(id);
    if (id < this.lowest) this.lowest = id;
  }
  private lowest = 1;
}

export interface SyncResult {
  ops: BpfMapOp[];
  /** index entries to set once the ops succeed (copying a 30k-entry index costs ms) */
  put: Programmed[];
  /** index keys to delete once the ops succeed */
  drop: string[];
  written: number;
  removed: number;
  elements: number;
  /** meta ids of removed ports: free them once the kernel accepted the ops */
  releasedIds: number[];
  /** meta ids taken for new ports: give them back if the kernel refused */
  takenIds: number[];
}

/** Apply a successful sync to the index. */
export function commitSync(index: Map<string, Programmed>, r: Pick<SyncResult, 'put' | 'drop'>): void {
  for (const k of r.drop) index.delete(k);
  for (const e of r.put) index.set(e.state.key, e);
}

export function planSync(changes: ChangeSet, index: Map<string, Programmed>, ids: MetaIds, paths: PinPaths): SyncResult {
  const upserts: ServicePortState[] = [...changes.added, ...changes.changed.map((c) => c.after)];
  for (const s of upserts) checkStorable(s);
  const upsertKeys = new Set(upserts.map((u) => u.key));
  const removedKeys = changes.removed.map((s) => s.key).filter((k) => !upsertKeys.has(k));

  const backendsPut = new Batch(paths.backends, 'update', BACKEND_KEY.size, BACKEND.size);
  const metaPut = new Batch(paths.meta, 'update', META_ID_SIZE, META.size);
  const servicesPut = new Batch(paths.services, 'update', SERVICE_KEY.size, SERVICE_VALUE.size);
  const servicesDel = new Batch(paths.services, 'delete', SERVICE_KEY.size);
  const backendsDel = new Batch(paths.backends, 'delete', BACKEND_KEY.size);
  const metaDel = new Batch(paths.meta, 'delete', META_ID_SIZE);

  const put: Programmed[] = [];
  const drop: string[] = [];
  const published = new Set<string>();
  const retired: Programmed[] = [];
  const newIds: number[] = [];

  for (const s of upserts) {
    const old = index.get(s.key);
    let metaId = old?.metaId;
    if (metaId === undefined) {
      metaId = ids.take();
      newIds.push(metaId);
    }
    const gen = old ? 1 - old.gen : 0;
    const shared = externalShared(s);
    const internalGroup = groupOf(metaId, gen, false);
    const externalGroup = shared ? internalGroup : groupOf(metaId, gen, true);
    s.internal.forEach((be, slot) => {
      writeBackendKey(backendsPut, internalGroup, slot);
      writeBackend(backendsPut, be);
    });
    if (!shared)
      s.external.forEach((be, slot) => {
        writeBackendKey(backendsPut, externalGroup, slot);
        writeBackend(backendsPut, be);
      });
    writeMetaId(metaPut, metaId);
    writeMeta(metaPut, {
      key: s.key,
      gen,
      flags: metaFlags(s),
      affinitySec: s.affinitySeconds ?? 0,
      port: s.port,
      nodePort: s.nodePort ?? 0,
      internalCount: s.internal.length,
      externalCount: s.external.length,
      externalGroup,
    });
    const frontends = frontendsOf(s);
    for (const fe of frontends) {
      writeServiceKey(servicesPut, fe);
      writeServiceValue(servicesPut, {
        group: fe.external ? externalGroup : internalGroup,
        count: fe.external ? s.external.length : s.internal.length,
        metaId,
        affinitySec: s.affinitySeconds ?? 0,
        flags: fe.flags,
      });
      published.add(frontendId(fe));
    }
    if (old) retired.push(old);
    put.push({ state: s, metaId, gen, frontends });
  }
  const gone: Programmed[] = [];
  for (const key of removedKeys) {
    const old = index.get(key);
    if (!old) continue;
    gone.push(old);
    retired.push(old);
    drop.push(key);
  }

  for (const old of retired) {
    for (const fe of old.frontends) if (!published.has(frontendId(fe))) writeServiceKey(servicesDel, fe);
    const shared = externalShared(old.state);
    old.state.internal.forEach((_, slot) => writeBackendKey(backendsDel, groupOf(old.metaId, old.gen, false), slot));
    if (!shared) old.state.external.forEach((_, slot) => writeBackendKey(backendsDel, groupOf(old.metaId, old.gen, true), slot));
  }
  for (const old of gone) writeMetaId(metaDel, old.metaId);

  const batches = [backendsPut, metaPut, servicesPut, servicesDel, backendsDel, metaDel];
  const ops = batches.map((b) => b.toOp()).filter((o): o is BpfMapOp => o !== undefined);
  return {
    ops,
    put,
    drop,
    written: upserts.length,
    removed: gone.length,
    elements: batches.reduce((n, b) => n + b.keys.count, 0),
    releasedIds: gone.map((g) => g.metaId),
    takenIds: newIds,
  };
}
