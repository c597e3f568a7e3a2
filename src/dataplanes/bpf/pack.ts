/**
 * Packed key/value arrays for one batched map operation, and the codecs.
 * A full sync writes ~180k records: every batch is sized up front (one zeroed
 * Buffer per map and direction, no growth), and the writers take plain
 * numbers and write at computed offsets, so no per-record objects are made.
 */
import type { BpfMapOp } from '../../native/bpf.js';
import type { Backend, ServicePortState } from '../../plan/types.js';
import type { Frontend } from './entries.js';
import { BACKEND, BACKEND_KEY, encodeAddr, IPPROTO, KEY_LEN, META, PAGE_SLOTS, pagesOf, SERVICE_KEY, SERVICE_VALUE } from './layout.js';

const SK = SERVICE_KEY.fields;
const SV = SERVICE_VALUE.fields;
const BK = BACKEND_KEY.fields;
const BE = BACKEND.fields;
const M = META.fields;
/** host-order integers are little endian on the supported x86_64 (see layout.ts) */
const LE = true;

/** Fixed-size records in one zeroed buffer; grows (doubling) only if the size guess was short. */
export class Records {
  buf: Buffer;
  /** the same bytes, for host-order integers (DataView calls compile to plain stores) */
  view: DataView;
  count = 0;
  constructor(readonly size: number, capacity = 64) {
    this.buf = Buffer.alloc(size * Math.max(capacity, 1));
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }
  /** offset of a fresh zeroed record in `buf` (read `buf`/`view` after calling: they may have grown) */
  next(): number {
    if ((this.count + 1) * this.size > this.buf.length) {
      const bigger = Buffer.alloc(this.buf.length * 2);
      this.buf.copy(bigger);
      this.buf = bigger;
      this.view = new DataView(bigger.buffer, bigger.byteOffset, bigger.byteLength);
    }
    return this.count++ * this.size;
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.count * this.size);
  }
}

/** Keys (and values for updates) for one map. */
export class Batch {
  readonly keys: Records;
  readonly values: Records | undefined;
  constructor(readonly path: string, readonly op: 'update' | 'delete', keySize: number, valueSize?: number, capacity?: number) {
    this.keys = new Records(keySize, capacity);
    this.values = valueSize === undefined ? undefined : new Records(valueSize, capacity);
  }
  toOp(): BpfMapOp | undefined {
    if (this.keys.count === 0) return undefined;
    return { path: this.path, op: this.op, keys: this.keys.bytes(), values: this.values?.bytes() };
  }
}

export function writeServiceKey(b: Batch, fe: Frontend): void {
  const off = b.keys.next();
  const buf = b.keys.buf;
  encodeAddr(buf, off + SK.addr!.offset, fe.addr);
  b.keys.view.setUint16(off + SK.port!.offset, fe.port); // network order
  buf[off + SK.proto!.offset] = IPPROTO[fe.proto];
  buf[off + SK.family!.offset] = fe.family;
}

export function writeServiceValue(b: Batch, group: number, count: number, metaId: number, affinitySec: number, flags: number): void {
  const r = b.values!;
  const off = r.next();
  const v = r.view;
  v.setUint32(off + SV.group!.offset, group, LE);
  v.setUint32(off + SV.count!.offset, count, LE);
  v.setUint32(off + SV.meta_id!.offset, metaId, LE);
  v.setUint32(off + SV.affinity_sec!.offset, affinitySec, LE);
  v.setUint32(off + SV.flags!.offset, flags, LE);
}

/** The group's backends as (group, page) -> PAGE_SLOTS endpoints; slots are list positions. */
export function writeBackends(b: Batch, group: number, list: readonly Backend[]): void {
  const k = b.keys;
  const v = b.values!;
  for (let page = 0, slot = 0; slot < list.length; page++) {
    const ko = k.next();
    k.view.setUint32(ko + BK.group!.offset, group, LE);
    k.view.setUint32(ko + BK.page!.offset, page, LE);
    const po = v.next();
    for (let i = 0; i < PAGE_SLOTS && slot < list.length; i++, slot++) {
      const be = list[slot]!;
      const vo = po + i * BACKEND.size;
      encodeAddr(v.buf, vo + BE.addr!.offset, be.address);
      v.view.setUint16(vo + BE.port!.offset, be.port); // network order
    }
  }
}

/** Keys only, for deleting the pages of a group of `count` backends. */
export function writeBackendKeys(b: Batch, group: number, count: number): void {
  const k = b.keys;
  for (let page = 0; page < pagesOf(count); page++) {
    const ko = k.next();
    k.view.setUint32(ko + BK.group!.offset, group, LE);
    k.view.setUint32(ko + BK.page!.offset, page, LE);
  }
}

export function writeMetaId(b: Batch, id: number): void {
  const off = b.keys.next();
  b.keys.view.setUint32(off, id, LE);
}

/** The meta record of a service port (counts and ports straight from the state). */
export function writeMeta(b: Batch, s: ServicePortState, gen: number, flags: number, externalGroup: number): void {
  const r = b.values!;
  const off = r.next();
  r.buf.write(s.key, off + M.key!.offset, KEY_LEN - 1, 'latin1');
  const v = r.view;
  v.setUint32(off + M.gen!.offset, gen, LE);
  v.setUint32(off + M.flags!.offset, flags, LE);
  v.setUint32(off + M.affinity_sec!.offset, s.affinitySeconds ?? 0, LE);
  v.setUint16(off + M.port!.offset, s.port, LE);
  v.setUint16(off + M.node_port!.offset, s.nodePort ?? 0, LE);
  v.setUint32(off + M.internal_count!.offset, s.internal.length, LE);
  v.setUint32(off + M.external_count!.offset, s.external.length, LE);
  v.setUint32(off + M.external_group!.offset, externalGroup, LE);
}
