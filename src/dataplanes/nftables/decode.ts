/**
 * The inverse of encode.ts for read(): elements as the kernel returns them
 * in a raw netlink dump (layout in native/nft/packed.h) -> Elem. Key and value bytes are
 * the register layout encode.ts writes: every part padded to 4 bytes,
 * addresses and ports in network order, inet_proto one byte, the numgen
 * slot a host-order u32.
 */
import { endianness } from 'node:os';
import type { Family } from '../../plan/types.js';
import type { Elem, Part, Proto, Verdict } from './encode.js';
import { DATA_VALUE, DATA_VERDICT, NF_DROP, NFT_GOTO, NFT_JUMP, rawElem, readElem } from './packed.js';
import { ENDPOINTS, NODEPORT_ENDPOINTS, SERVICE_IPS, SERVICE_META, SERVICE_NODEPORTS, type SetName } from './names.js';

const PROTO_NAME: Record<number, Proto> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };
const LITTLE = endianness() === 'LE';

type PartType = 'addr' | 'proto' | 'port' | 'slot';
const KEYS: Partial<Record<SetName, PartType[]>> = {
  [SERVICE_IPS]: ['addr', 'proto', 'port'],
  [SERVICE_NODEPORTS]: ['proto', 'port'],
  [ENDPOINTS]: ['addr', 'proto', 'port', 'slot'],
  [NODEPORT_ENDPOINTS]: ['proto', 'port', 'slot'],
  [SERVICE_META]: ['addr', 'proto', 'port'],
};

function addrText(b: Buffer, at: number, family: Family): string {
  if (family === 4) return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
  const words: string[] = [];
  for (let i = 0; i < 8; i++) words.push(b.readUInt16BE(at + 2 * i).toString(16));
  // the longest run of zero words becomes "::", as nft and Node print it
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && words[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return words.join(':');
  return `${words.slice(0, best).join(':')}::${words.slice(best + bestLen).join(':')}`;
}

function keyParts(data: Buffer, at: number, parts: PartType[], family: Family): Part[] {
  const key: Part[] = [];
  for (const t of parts) {
    if (t === 'addr') {
      key.push(addrText(data, at, family));
      at += family === 4 ? 4 : 16;
      continue;
    }
    if (t === 'proto') key.push(PROTO_NAME[data[at]!] ?? String(data[at]));
    else if (t === 'port') key.push(data.readUInt16BE(at));
    else key.push(LITTLE ? data.readUInt32LE(at) : data.readUInt32BE(at));
    at += 4;
  }
  return key;
}

const verdictOf = (code: number, chain: string): Verdict | undefined =>
  code === NF_DROP ? { kind: 'drop' } : code === NFT_GOTO || code === NFT_JUMP ? { kind: 'goto', chain } : undefined;

/** Parse a dump of `set` (one of svcproxy's maps); undefined when an element does not fit its layout. */
export function decodeDump(set: SetName, family: Family, data: Buffer, count: number): Elem[] | undefined {
  const parts = KEYS[set];
  if (!parts) throw new Error(`nftables: no decoder for set ${set}`);
  const addrLen = family === 4 ? 4 : 16;
  const keyLen = parts.reduce((n, t) => n + (t === 'addr' ? addrLen : 4), 0);
  const out: Elem[] = new Array(count);
  const r = rawElem();
  let at = 0;
  for (let i = 0; i < count; i++) {
    at = readElem(data, at, r);
    if (at < 0 || r.keyLen !== keyLen) return undefined;
    const e: Elem = { set, key: keyParts(data, r.keyAt, parts, family) };
    if (r.kind === DATA_VALUE) {
      if (r.valueLen !== addrLen + 4) return undefined;
      e.value = [addrText(data, r.valueAt, family), data.readUInt16BE(r.valueAt + addrLen)];
    } else if (r.kind === DATA_VERDICT) {
      const v = verdictOf(r.code, data.toString('latin1', r.chainAt, r.chainAt + r.chainLen));
      if (v) e.verdict = v;
    }
    if (r.commentLen > 0) e.comment = data.toString('latin1', r.commentAt, r.commentAt + r.commentLen);
    out[i] = e;
  }
  return at === data.length ? out : undefined;
}
