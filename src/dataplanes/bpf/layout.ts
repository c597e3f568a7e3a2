/**
 * Byte layouts of the map keys and values in bpf/svcproxy.h. Offsets are
 * written out (not computed) so test/unit/bpf.layout.test.ts can compare them
 * with what the C compiler says. Addresses and ports are network byte order;
 * other integers host order (little endian on the supported x86_64).
 */
import { isIP } from 'node:net';

export interface Field {
  offset: number;
  size: number;
}
export interface StructLayout {
  /** the C struct name */
  name: string;
  size: number;
  fields: Record<string, Field>;
}

const f = (offset: number, size: number): Field => ({ offset, size });

export const SERVICE_KEY: StructLayout = {
  name: 'svp_service_key',
  size: 20,
  fields: { addr: f(0, 16), port: f(16, 2), proto: f(18, 1), family: f(19, 1) },
};
export const SERVICE_VALUE: StructLayout = {
  name: 'svp_service_value',
  size: 20,
  fields: { group: f(0, 4), count: f(4, 4), meta_id: f(8, 4), affinity_sec: f(12, 4), flags: f(16, 4) },
};
export const BACKEND_KEY: StructLayout = { name: 'svp_backend_key', size: 8, fields: { group: f(0, 4), page: f(4, 4) } };
export const BACKEND: StructLayout = { name: 'svp_backend', size: 20, fields: { addr: f(0, 16), port: f(16, 2), pad: f(18, 2) } };
/** SVP_PAGE_SLOTS: backends per svp_backends element */
export const PAGE_SLOTS = 8;
export const BACKEND_PAGE: StructLayout = { name: 'svp_backend_page', size: BACKEND.size * PAGE_SLOTS, fields: { be: f(0, BACKEND.size * PAGE_SLOTS) } };
/** pages holding `count` backends */
export const pagesOf = (count: number) => Math.ceil(count / PAGE_SLOTS);
export const KEY_LEN = 192;
/** SVP_MAX_META: meta ids (and svp_counters slots) are 1..SVP_MAX_META-1 */
export const SVP_MAX_META = 131072;
export const META: StructLayout = {
  name: 'svp_meta',
  size: 220,
  fields: {
    key: f(0, KEY_LEN),
    gen: f(192, 4),
    flags: f(196, 4),
    affinity_sec: f(200, 4),
    port: f(204, 2),
    node_port: f(206, 2),
    internal_count: f(208, 4),
    external_count: f(212, 4),
    external_group: f(216, 4),
  },
};
export const ADDR_KEY: StructLayout = { name: 'svp_addr_key', size: 20, fields: { addr: f(0, 16), family: f(16, 4) } };
export const COUNTERS: StructLayout = { name: 'svp_counters', size: 24, fields: { translated: f(0, 8), rejected: f(8, 8), dropped: f(16, 8) } };
/** key of svp_meta and svp_counters */
export const META_ID_SIZE = 4;

export const ALL_LAYOUTS = [SERVICE_KEY, SERVICE_VALUE, BACKEND_KEY, BACKEND, BACKEND_PAGE, META, ADDR_KEY, COUNTERS];

// svp_service_value.flags (SVP_F_*) and svp_meta.flags (SVP_M_*), bpf/svcproxy.h
export const SVP_F_CLUSTER_IP = 0x1;
export const SVP_F_NODE_PORT = 0x2;
export const SVP_F_EXTERNAL_IP = 0x4;
export const SVP_F_LB_IP = 0x8;
/** on a count-0 frontend: drop (ETIMEDOUT), not reject (ECONNREFUSED) */
export const SVP_F_DROP = 0x10;
/** the frontend-kind bits of svp_service_value.flags */
export const SVP_F_KINDS = SVP_F_CLUSTER_IP | SVP_F_NODE_PORT | SVP_F_EXTERNAL_IP | SVP_F_LB_IP;
export const SVP_M_HAS_ENDPOINTS = 0x1;
export const SVP_M_EXTERNAL_LOCAL = 0x2;
export const SVP_M_AFFINITY = 0x4;

// IPPROTO_* (linux/in.h)
export const IPPROTO = { TCP: 6, UDP: 17, SCTP: 132 } as const;
export type ProtoName = keyof typeof IPPROTO;
export const protoName = (n: number): ProtoName | undefined =>
  (Object.keys(IPPROTO) as ProtoName[]).find((k) => IPPROTO[k] === n);

// ---- addresses -------------------------------------------------------------

/**
 * 16 bytes: IPv4 in the first 4, IPv6 all 16; "" = the all-zero node-port key.
 * The target must be zeroed already (fresh Buffer.alloc records are).
 */
export function encodeAddr(buf: Buffer, off: number, ip: string): void {
  if (ip === '') return;
  if (encodeV4(buf, off, ip)) return;
  if (isIP(ip) !== 6) throw new Error(`bpf mode: not an IP address: "${ip}"`);
  const groups = expandV6(ip);
  for (let i = 0; i < 8; i++) buf.writeUInt16BE(groups[i]!, off + 2 * i);
}

/** Dotted quad straight from the char codes (the sync hot path: 150k per full sync). */
function encodeV4(buf: Buffer, off: number, ip: string): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || part === 3) return false;
      buf[off + part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      value = value * 10 + (c - 48);
      if (value > 255) return false;
      digits++;
    } else return false;
  }
  if (digits === 0 || part !== 3) return false;
  buf[off + 3] = value;
  return true;
}

export function decodeAddr(buf: Buffer, off: number, family: number): string {
  if (family === 4) return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(buf.readUInt16BE(off + 2 * i));
  return compressV6(g);
}

function expandV6(ip: string): number[] {
  let s = ip.toLowerCase();
  const v4 = s.match(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/);
  if (v4) {
    const o = v4.slice(1).map(Number) as [number, number, number, number];
    s = `${s.slice(0, s.length - v4[0].length)}${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  const parse = (p: string) => (p === '' ? [] : p.split(':').map((x) => parseInt(x, 16)));
  if (!s.includes('::')) return parse(s);
  const [h = '', r = ''] = s.split('::');
  const head = parse(h);
  const rest = parse(r);
  return [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
}

/** RFC 5952 text: lower case, longest run of zero groups (>1) as "::". */
function compressV6(g: number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}
