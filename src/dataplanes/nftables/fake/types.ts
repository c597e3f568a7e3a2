/**
 * Key and data lengths of a set declaration, as the kernel sizes them: one
 * part is its own length; in a concatenation every part takes whole 32-bit
 * registers (NFT_REG32_SIZE), which is the layout encode.ts writes.
 */
import type { SetDecl } from './script.js';
import { Refused } from './refused.js';

/** nft type names (`type a . b`) and their lengths (nft(8) DATA TYPES) */
const TYPE_LEN: Record<string, number> = { ipv4_addr: 4, ipv6_addr: 16, inet_proto: 1, inet_service: 2, mark: 4, ether_addr: 6, ifname: 16 };

/** expressions (`typeof a . b`) and their lengths */
const EXPR_LEN: [RegExp, number][] = [
  [/^ip [sd]addr$/, 4],
  [/^ip6 [sd]addr$/, 16],
  [/^meta (l4proto|nfproto)$/, 1],
  [/^(th|tcp|udp|sctp) [sd]port$/, 2],
  [/^numgen (random|inc) mod \d+$/, 4],
  [/^meta mark$/, 4],
];

function partLen(part: string, typeof_: boolean): number | undefined {
  if (!typeof_) return TYPE_LEN[part];
  return EXPR_LEN.find(([re]) => re.test(part))?.[1];
}

function concatLen(spec: string, typeof_: boolean, what: string): number {
  const parts = spec.split(' . ').map((p) => p.trim());
  const lens = parts.map((p) => partLen(p, typeof_));
  if (lens.some((l) => l === undefined)) throw new Refused('EINVAL', `unknown type in ${what}`);
  const ls = lens as number[];
  return ls.length === 1 ? ls[0]! : ls.reduce((n, l) => n + Math.ceil(l / 4) * 4, 0);
}

export function keyAndData(d: SetDecl, family: string): { keyLen: number; data?: 'verdict' | number; size?: number } {
  const what = `${family} set ${d.name}`;
  const type = d.body.map((s) => /^(type|typeof) (.+)$/.exec(s)).find((m) => m);
  if (!type) throw new Refused('EINVAL', `${what}: no type`);
  const typeof_ = type[1] === 'typeof';
  const [key, data] = type[2]!.split(' : ');
  if ((data !== undefined) !== (d.kind === 'map')) throw new Refused('EINVAL', `${what}: a map needs a data type, a set none`);
  const size = d.body.map((s) => /^size (\d+)$/.exec(s)).find((m) => m);
  return {
    keyLen: concatLen(key!, typeof_, what),
    data: data === undefined ? undefined : data.trim() === 'verdict' ? 'verdict' : concatLen(data, typeof_, what),
    size: size ? Number(size[1]) : undefined,
  };
}
