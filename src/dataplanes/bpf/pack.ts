/** Packed key/value arrays for one batched map operation, and the codecs. */
import type { BpfMapOp } from '../../native/bpf.js';
import type { Backend } from '../../plan/types.js';
import type { Frontend } from './entries.js';
import { BACKEND, BACKEND_KEY, encodeAddr, IPPROTO, KEY_LEN, META, META_ID_SIZE, SERVICE_KEY, SERVICE_VALUE } from './layout.js';

/** Growable buffer of fixed-size records. */
export class Records {
  private buf: Buffer;
  count = 0;
  constructor(readonly size: number, initial = 64) {
    this.buf = Buffer.alloc(size * initial);
  }
  /** a zeroed slot to write one record into; returns its offset in the buffer */
  next(): { buf: Buffer; off: number } {
    if ((this.count + 1) * this.size > this.buf.length) {
      const bigger = Buffer.alloc(this.buf.length * 2);
      this.buf.copy(bigger);
      this.buf = bigger;
    }
    return { buf: this.buf, off: this.count++ * this.size };
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.count * this.size);
  }
}

/** Keys (and values for updates) for one map. */
export class Batch {
  readonly keys: Records;
  readonly values: Records | undefined;
  constructor(readonly path: string, readonly op: 'update' | 'delete', keySize: number, valueSize?: number) {
    this.keys = new Records(keySize);
    this.values = valueSize === undefined ? undefined : new Records(valueSize);
  }
  toOp(): BpfMapOp | undefined {
    if (this.keys.count === 0) return undefined;
    return { path: this.path, op: this.op, keys: this.keys.bytes(), values: this.values?.bytes() };
  }
}

export function writeServiceKey(b: Batch, fe: Frontend): void {
  const { buf, off } = b.keys.next();
  encodeAddr(buf, off + SERVICE_KEY.fields.addr!.offset, fe.addr);
  buf.writeUInt16BE(fe.port, off + SERVICE_KEY.fields.port!.offset);
  buf[off + SERVICE_KEY.fields.proto!.offset] = IPPROTO[fe.proto];
  buf[off + SERVICE_KEY.fields.family!.offset] = fe.family;
}

export interface ServiceValue {
  group: number;
  count: number;
  metaId: number;
  affinitySec: number;
  flags: number;
}

export function writeServiceValue(b: Batch, v: ServiceValue): void {
  const { buf, off } = b.values!.next();
  const F = SERVICE_VALUE.fields;
  buf.writeUInt32LE(v.group, off + F.group!.offset);
  buf.writeUInt32LE(v.count, off + F.count!.offset);
  buf.writeUInt32LE(v.metaId, off + F.meta_id!.offset);
  buf.writeUInt32LE(v.affinitySec, off + F.affinity_sec!.offset);
  buf.writeUInt32LE(v.flags, off + F.flags!.offset);
}

export function writeBackendKey(b: Batch, group: number, slot: number): void {
  const { buf, off } = b.keys.next();
  buf.writeUInt32LE(group, off + BACKEND_KEY.fields.group!.offset);
  buf.writeUInt32LE(slot, off + BACKEND_KEY.fields.slot!.offset);
}

export function writeBackend(b: Batch, be: Backend): void {
  const { buf, off } = b.values!.next();
  encodeAddr(buf, off + BACKEND.fields.addr!.offset, be.address);
  buf.writeUInt16BE(be.port, off + BACKEND.fields.port!.offset);
}

export function writeMetaId(b: Batch, id: number): void {
  const { buf, off } = b.keys.next();
  buf.writeUInt32LE(id, off);
}

export interface MetaValue {
  key: string;
  gen: number;
  flags: number;
  affinitySec: number;
  port: number;
  nodePort: number;
  internalCount: number;
  externalCount: number;
  externalGroup: number;
}

export function writeMeta(b: Batch, m: MetaValue): void {
  const { buf, off } = b.values!.next();
  const F = META.fields;
  buf.write(m.key, off + F.key!.offset, KEY_LEN - 1, 'latin1');
  buf.writeUInt32LE(m.gen, off + F.gen!.offset);
  buf.writeUInt32LE(m.flags, off + F.flags!.offset);
  buf.writeUInt32LE(m.affinitySec, off + F.affinity_sec!.offset);
  buf.writeUInt16LE(m.port, off + F.port!.offset);
  buf.writeUInt16LE(m.nodePort, off + F.node_port!.offset);
  buf.writeUInt32LE(m.internalCount, off + F.internal_count!.offset);
  buf.writeUInt32LE(m.externalCount, off + F.external_count!.offset);
  buf.writeUInt32LE(m.externalGroup, off + F.external_group!.offset);
}

export const META_KEY_SIZE = META_ID_SIZE;
