/**
 * Set/map elements as svcproxy writes them, and their two encodings: the
 * packed binary batch native/nft/elements.cc turns into one netlink batch
 * (layout in native/nft/packed.h), and nft text for render()/--dry-run.
 *
 * Key and value bytes are the kernel's register layout for each map's type:
 * every part of a concatenation is padded to 4 bytes; addresses and ports in
 * network order; inet_proto one byte; the numgen slot a host-order u32.
 */
import { endianness } from 'node:os';
import type { Family } from '../../plan/types.js';
import { DATA_NONE, DATA_VALUE, DATA_VERDICT, NF_DROP, NFPROTO_IPV4, NFPROTO_IPV6, NFT_GOTO, VERB } from './packed.js';
import { ENDPOINTS, HAIRPIN, NODEPORT_ENDPOINTS, SERVICE_IPS, SERVICE_META, SERVICE_NODEPORTS, commentText, type SetName } from './names.js';

export type Proto = 'tcp' | 'udp' | 'sctp';
/** key/value parts; which is which is fixed per set (SCHEMA) */
export type Part = string | number;
export type Verdict = { kind: 'drop' } | { kind: 'goto'; chain: string };

export interface Elem {
  set: SetName;
  key: Part[];
  /** map value: a verdict, or an address . port (endpoint maps) */
  verdict?: Verdict;
  value?: [string, number];
  comment?: string;
}

type PartType = 'addr' | 'proto' | 'port' | 'slot';
const SCHEMA: Record<SetName, PartType[]> = {
  [SERVICE_IPS]: ['addr', 'proto', 'port'],
  [SERVICE_NODEPORTS]: ['proto', 'port'],
  [ENDPOINTS]: ['addr', 'proto', 'port', 'slot'],
  [NODEPORT_ENDPOINTS]: ['proto', 'port', 'slot'],
  [SERVICE_META]: ['addr', 'proto', 'port'],
  [HAIRPIN]: ['addr', 'addr'],
};

// netinet/in.h IPPROTO_*
const IPPROTO: Record<Proto, number> = { tcp: 6, udp: 17, sctp: 132 };
const LITTLE = endianness() === 'LE';

/** Growing byte buffer with the few writes the packed format needs. */
class Packer {
  buf = Buffer.allocUnsafe(1 << 16);
  len = 0;
  private room(n: number) {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  u8(v: number) {
    this.room(1);
    this.buf[this.len++] = v;
  }
  u32le(v: number) {
    this.room(4);
    this.buf.writeUInt32LE(v >>> 0, this.len);
    this.len += 4;
  }
  /** u8 length + latin1 bytes (names and comments are ASCII) */
  str(s: string) {
    const n = s.length;
    this.room(1 + n);
    const b = this.buf;
    let at = this.len;
    b[at++] = n;
    // names and comments are short ASCII: a loop beats a native Buffer.write call
    for (let i = 0; i < n; i++) b[at++] = s.charCodeAt(i);
    this.len = at;
  }
  /** reserve a u8 length byte, return its offset */
  mark(): number {
    this.room(1);
    return this.len++;
  }
  addr(a: string) {
    this.room(16);
    if (a.includes(':')) {
      for (const b of ipv6Bytes(a)) this.buf[this.len++] = b;
      return;
    }
    let v = 0;
    let shift = 0;
    const start = this.len;
    for (let i = 0; i <= a.length; i++) {
      const c = i < a.length ? a.charCodeAt(i) : 46;
      if (c === 46) {
        this.buf[start + shift++] = v;
        v = 0;
      } else v = v * 10 + c - 48;
    }
    this.len += 4;
  }
  /** a 16-bit network-order port padded to a 4-byte register */
  port(p: number) {
    this.room(4);
    this.buf[this.len] = p >> 8;
    this.buf[this.len + 1] = p & 0xff;
    this.buf[this.len + 2] = 0;
    this.buf[this.len + 3] = 0;
    this.len += 4;
  }
  proto(p: Proto) {
    this.room(4);
    const b = this.buf;
    b[this.len] = IPPROTO[p];
    b[this.len + 1] = 0;
    b[this.len + 2] = 0;
    b[this.len + 3] = 0;
    this.len += 4;
  }
  slot(n: number) {
    this.room(4);
    const b = this.buf;
    const at = this.len;
    const v = n >>> 0;
    if (LITTLE) {
      b[at] = v & 0xff;
      b[at + 1] = (v >>> 8) & 0xff;
      b[at + 2] = (v >>> 16) & 0xff;
      b[at + 3] = v >>> 24;
    } else b.writeUInt32BE(v, at);
    this.len += 4;
  }
  append(b: Uint8Array) {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

export function ipv6Bytes(a: string): number[] {
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  let words = groups(head);
  const rest = groups(tail);
  const v4 = (list: string[]) => {
    const last = list[list.length - 1];
    if (last === undefined || !last.includes('.')) return list;
    const o = last.split('.').map(Number);
    return [...list.slice(0, -1), ((o[0]! << 8) | o[1]!).toString(16), ((o[2]! << 8) | o[3]!).toString(16)];
  };
  if (tail === undefined) words = v4(words);
  const after = v4(rest);
  if (tail !== undefined) words = [...words, ...Array<string>(8 - words.length - after.length).fill('0'), ...after];
  const out: number[] = [];
  for (const w of words) {
    const n = parseInt(w, 16);
    out.push(n >> 8, n & 0xff);
  }
  return out;
}

export type Verb = keyof typeof VERB;
export interface ElementOp {
  verb: Verb;
  family: Family;
  table: string;
  set: SetName;
  elems: Elem[];
}

/** Group elements by set, in the given verb: the order ops are sent (deletes before adds). */
export function groupOps(verb: Verb, family: Family, table: string, elems: Elem[]): ElementOp[] {
  const bySet = new Map<SetName, Elem[]>();
  for (const e of elems) {
    const l = bySet.get(e.set);
    if (l) l.push(e);
    else bySet.set(e.set, [e]);
  }
  return [...bySet].map(([set, list]) => ({ verb, family, table, set, elems: list }));
}

/**
 * Packs elements as they come (one Packer per set, headers added at the
 * end), so a full sync of 300k elements never holds them as objects.
 */
export class ElementPacker {
  private readonly bodies = new Map<SetName, { p: Packer; n: number }>();
  constructor(
    private readonly verb: Verb,
    private readonly family: Family,
    private readonly table: string,
  ) {}

  push(e: Elem): void {
    let b = this.bodies.get(e.set);
    if (!b) this.bodies.set(e.set, (b = { p: new Packer(), n: 0 }));
    writeElem(b.p, this.verb, e);
    b.n++;
  }

  count(set: SetName): number {
    return this.bodies.get(set)?.n ?? 0;
  }

  /** the packed ops, one per set, in the order sets were first seen */
  write(out: Packer): void {
    for (const [set, b] of this.bodies) {
      out.u8(VERB[this.verb]);
      out.u8(this.family === 4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
      out.str(this.table);
      out.str(set);
      out.u32le(b.n);
      out.append(b.p.bytes());
    }
  }
}

/** Several packers' output as one batch (deletes first, then adds). */
export function packBatch(packers: ElementPacker[]): Uint8Array {
  const out = new Packer();
  for (const k of packers) k.write(out);
  return out.bytes();
}

export function packOps(ops: ElementOp[]): Uint8Array {
  const packers = ops.map((op) => {
    const k = new ElementPacker(op.verb, op.family, op.table);
    for (const e of op.elems) k.push(e);
    return k;
  });
  return packBatch(packers);
}

function writeElem(p: Packer, verb: Verb, e: Elem): void {
  const k = p.mark();
  const key = e.key;
  switch (e.set) {
    case ENDPOINTS: // addr . proto . port . slot
      p.addr(key[0] as string);
      p.proto(key[1] as Proto);
      p.port(key[2] as number);
      p.slot(key[3] as number);
      break;
    case HAIRPIN:
      p.addr(key[0] as string);
      p.addr(key[1] as string);
      break;
    default: {
      const schema = SCHEMA[e.set];
      for (let i = 0; i < schema.length; i++) writePart(p, schema[i]!, key[i]!);
    }
  }
  p.buf[k] = p.len - k - 1;
  if (verb === 'delete' || (e.verdict === undefined && e.value === undefined)) p.u8(DATA_NONE);
  else if (e.value !== undefined) {
    p.u8(DATA_VALUE);
    const v = p.mark();
    p.addr(e.value[0]);
    p.port(e.value[1]);
    p.buf[v] = p.len - v - 1;
  } else {
    p.u8(DATA_VERDICT);
    const v = e.verdict!;
    if (v.kind === 'drop') {
      p.u32le(NF_DROP);
      p.u8(0);
    } else {
      p.u32le(NFT_GOTO);
      p.str(v.chain);
    }
  }
  if (verb === 'add' && e.comment) p.str(e.comment);
  else p.u8(0);
}

function writePart(p: Packer, t: PartType, v: Part) {
  if (t === 'addr') p.addr(v as string);
  else if (t === 'proto') p.proto(v as Proto);
  else if (t === 'port') p.port(v as number);
  else p.slot(v as number);
}

const keyText = (e: Elem) => e.key.join(' . ');
const valueText = (e: Elem) =>
  e.value ? ` : ${e.value[0]} . ${e.value[1]}` : e.verdict ? ` : ${e.verdict.kind === 'drop' ? 'drop' : `goto ${e.verdict.chain}`}` : '';

/** Identity of an element for deltas: key, value and comment. */
export const elemId = (e: Elem) => `${e.set}|${keyText(e)}${valueText(e)}|${e.comment ?? ''}`;

/** The same batch as nft commands (what render() shows; `nft -f` would do the same). */
export function opsText(ops: ElementOp[], tableRef: (f: Family, t: string) => string): string {
  const lines: string[] = [];
  for (const op of ops) {
    if (op.elems.length === 0) continue;
    const body = op.elems
      .map((e) => (op.verb === 'delete' ? keyText(e) : `${keyText(e)}${e.comment ? ` comment ${commentText(e.comment)}` : ''}${valueText(e)}`))
      .join(', ');
    lines.push(`${op.verb} element ${tableRef(op.family, op.table)} ${op.set} { ${body} }`);
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}
