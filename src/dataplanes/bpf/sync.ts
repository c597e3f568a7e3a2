/**
 * A change set as an ordered list of map batches. The order is the
 * publishing protocol: a connecting socket never sees a half-written
 * service.
 *   1. backends of the new generation (not referenced by anything yet),
 *      zeroed counters for newly taken meta ids
 *   2. meta records
 *   3. frontends: publish (group, count) in one element write each
 *   4. frontends no longer wanted are deleted
 *   5. backends of the old generation, then meta of removed ports
 */
import { SvcproxyError } from '../../errors.js';
import type { BpfMapOp } from '../../native/bpf.js';
import type { ChangeSet, ServicePortState } from '../../plan/types.js';
import { checkStorable, externalShared, frontendId, frontendsOf, groupOf, metaFlags, type Frontend, type Programmed } from './entries.js';
import { BACKEND_KEY, BACKEND_PAGE, COUNTERS, META, pagesOf, META_ID_SIZE, SERVICE_KEY, SERVICE_VALUE, SVP_F_DROP } from './layout.js';
import { Batch, writeBackendKeys, writeBackends, writeMeta, writeMetaId, writeServiceKey, writeServiceValue } from './pack.js';
import type { PinPaths } from './paths.js';

/** Allocates meta ids (the index of svp_counters too): smallest free first. */
export class MetaIds {
  // one byte per id: no per-id heap objects in a 30k-service sync
  private readonly used: Uint8Array;
  private lowest = 1;
  constructor(readonly max: number) {
    this.used = new Uint8Array(max);
  }
  take(): number {
    for (let id = this.lowest; id < this.max; id++) {
      if (this.used[id] === 0) {
        this.used[id] = 1;
        this.inUse++;
        this.lowest = id + 1;
        return id;
      }
    }
    throw new Error(`bpf mode: more than ${this.max - 1} service ports`);
  }
  mark(id: number): void {
    if (this.used[id] === 0) this.inUse++;
    this.used[id] = 1;
  }
  release(id: number): void {
    if (this.used[id] === 1) this.inUse--;
    this.used[id] = 0;
    if (id < this.lowest) this.lowest = id;
  }
  /** ids left (0 is never handed out) */
  free(): number {
    return this.max - 1 - this.inUse;
  }
  private inUse = 0;
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

/** How one frontend answers: its group, the group's size, and the value flags. */
function verdictFlags(fe: Frontend, s: ServicePortState, count: number): number {
  // no endpoint for this traffic while the service has some: drop, not reject
  return count === 0 && s.hasEndpoints ? fe.flags | SVP_F_DROP : fe.flags;
}

const upsertsOf = (changes: ChangeSet): ServicePortState[] =>
  changes.changed.length === 0 ? changes.added : [...changes.added, ...changes.changed.map((c) => c.after)];

/** Everything that can make planSync fail, checked before anything is loaded or written. */
export function checkChanges(changes: ChangeSet, index: Map<string, Programmed>, ids: MetaIds): void {
  let fresh = 0;
  for (const s of upsertsOf(changes)) {
    checkStorable(s);
    if (!index.has(s.key)) fresh++;
  }
  if (fresh > ids.free()) throw new SvcproxyError(`bpf mode holds at most ${ids.max - 1} service ports (svp_meta): ${fresh} new ones do not fit`, { code: 'ENOSPC', op: 'apply', mode: 'bpf' });
}

/** The update batches of a sync, sized up front: one allocation per map, no growth. */
interface PutBatches {
  backends: Batch;
  meta: Batch;
  services: Batch;
}

function putBatches(upserts: ServicePortState[], paths: PinPaths): PutBatches {
  let nPages = 0;
  let nFrontends = 0;
  for (const s of upserts) {
    nPages += pagesOf(s.internal.length) + (externalShared(s) ? 0 : pagesOf(s.external.length));
    nFrontends += 1 + (s.nodePort === null ? 0 : 1) + s.externalIPs.length + s.loadBalancerIPs.length;
  }
  return {
    backends: new Batch(paths.backends, 'update', BACKEND_KEY.size, BACKEND_PAGE.size, nPages),
    meta: new Batch(paths.meta, 'update', META_ID_SIZE, META.size, upserts.length),
    services: new Batch(paths.services, 'update', SERVICE_KEY.size, SERVICE_VALUE.size, nFrontends),
  };
}

/** One port's generation gen under metaId: its backend groups, meta record and frontends. */
function writePort(b: PutBatches, s: ServicePortState, metaId: number, gen: number): Programmed {
  const shared = externalShared(s);
  const internalGroup = groupOf(metaId, gen, false);
  const externalGroup = shared ? internalGroup : groupOf(metaId, gen, true);
  writeBackends(b.backends, internalGroup, s.internal);
  if (!shared) writeBackends(b.backends, externalGroup, s.external);
  writeMetaId(b.meta, metaId);
  writeMeta(b.meta, s, gen, metaFlags(s), externalGroup);
  const affinitySec = s.affinitySeconds ?? 0;
  const frontends = frontendsOf(s);
  for (const fe of frontends) {
    const count = fe.external ? s.external.length : s.internal.length;
    writeServiceKey(b.services, fe);
    writeServiceValue(b.services, fe.external ? externalGroup : internalGroup, count, metaId, affinitySec, verdictFlags(fe, s, count));
  }
  return { state: s, metaId, gen, frontends };
}

/** Programmed ports the change set removes (a key it also re-adds stays). */
function removedPorts(changes: ChangeSet, upserts: ServicePortState[], index: Map<string, Programmed>): Programmed[] {
  if (changes.removed.length === 0) return [];
  const upsertKeys = new Set(upserts.map((u) => u.key));
  const gone: Programmed[] = [];
  for (const s of changes.removed) {
    const old = upsertKeys.has(s.key) ? undefined : index.get(s.key);
    if (old) gone.push(old);
  }
  return gone;
}

/**
 * The delete batches: frontends of retired generations that no upsert
 * republishes (even another service's), their backend groups, and the
 * meta records of removed ports.
 */
function deleteBatches(put: Programmed[], retired: Programmed[], gone: Programmed[], paths: PinPaths): Batch[] {
  const servicesDel = new Batch(paths.services, 'delete', SERVICE_KEY.size);
  const backendsDel = new Batch(paths.backends, 'delete', BACKEND_KEY.size);
  const metaDel = new Batch(paths.meta, 'delete', META_ID_SIZE, undefined, gone.length);
  if (retired.length > 0) {
    const published = new Set<string>();
    for (const e of put) for (const fe of e.frontends) published.add(frontendId(fe));
    for (const old of retired) {
      for (const fe of old.frontends) if (!published.has(frontendId(fe))) writeServiceKey(servicesDel, fe);
      writeBackendKeys(backendsDel, groupOf(old.metaId, old.gen, false), old.state.internal.length);
      if (!externalShared(old.state)) writeBackendKeys(backendsDel, groupOf(old.metaId, old.gen, true), old.state.external.length);
    }
  }
  for (const old of gone) writeMetaId(metaDel, old.metaId);
  return [servicesDel, backendsDel, metaDel];
}

/** A meta id may have served a removed port before: its counters start at 0. */
function countersReset(paths: PinPaths, newIds: number[]): Batch {
  const batch = new Batch(paths.counters, 'update', META_ID_SIZE, COUNTERS.size, newIds.length);
  for (const id of newIds) {
    writeMetaId(batch, id);
    batch.values!.next(); // all zero
  }
  return batch;
}

/** checked: checkChanges() passed for these changes (skips the per-port checks) */
export function planSync(changes: ChangeSet, index: Map<string, Programmed>, ids: MetaIds, paths: PinPaths, checked = false): SyncResult {
  const upserts = upsertsOf(changes);
  if (!checked) for (const s of upserts) checkStorable(s);
  const puts = putBatches(upserts, paths);
  const put: Programmed[] = new Array(upserts.length);
  const retired: Programmed[] = [];
  const newIds: number[] = [];
  for (let i = 0; i < upserts.length; i++) {
    const s = upserts[i]!;
    const old = index.get(s.key);
    let metaId = old?.metaId;
    if (metaId === undefined) newIds.push((metaId = ids.take()));
    put[i] = writePort(puts, s, metaId, old ? 1 - old.gen : 0);
    if (old) retired.push(old);
  }
  const gone = removedPorts(changes, upserts, index);
  for (const old of gone) retired.push(old);

  // the publishing order of the header comment
  const batches = [puts.backends, countersReset(paths, newIds), puts.meta, puts.services, ...deleteBatches(put, retired, gone, paths)];
  return {
    ops: batches.map((b) => b.toOp()).filter((o): o is BpfMapOp => o !== undefined),
    put,
    drop: gone.map((g) => g.state.key),
    written: upserts.length,
    removed: gone.length,
    elements: batches.reduce((n, b) => n + b.keys.count, 0),
    releasedIds: gone.map((g) => g.metaId),
    takenIds: newIds,
  };
}
