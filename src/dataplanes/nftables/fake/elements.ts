/**
 * The fake's element batches and dumps, over the packed format the addon
 * takes and gives (native/nft/packed.h): each element is checked as the
 * kernel checks NFT_MSG_NEWSETELEM / DELSETELEM (key length, data kind and
 * length, the verdict's chain, duplicates, the declared size) and stored as
 * the bytes a dump returns.
 */
import { DATA_NONE, DATA_VALUE, DATA_VERDICT, NF_DROP, NFPROTO_IPV4, NFPROTO_IPV6, NFT_GOTO, NFT_JUMP, VERB, rawElem, readElem, readOpHeader, type RawElem } from '../packed.js';
import { Refused } from './refused.js';
import type { FakeRuleset, FakeSet, FakeTable } from './ruleset.js';

/** elements per netlink message, as native/nft/elements.cc closes them (so refusals name the same range) */
const ELEMENTS_PER_MESSAGE = 256;
const FAMILY: Record<number, string> = { [NFPROTO_IPV4]: 'ip', [NFPROTO_IPV6]: 'ip6' };

const hex = (b: Uint8Array, at: number, n: number) => Buffer.from(b.buffer, b.byteOffset + at, n).toString('hex');
const latin1 = (b: Uint8Array, at: number, n: number) => Buffer.from(b.buffer, b.byteOffset + at, n).toString('latin1');

/** Check one add against its set; the chain its verdict goes to. */
function checkAdd(t: FakeTable, s: FakeSet, b: Uint8Array, e: RawElem, what: string): string | undefined {
  const kind = s.data === undefined ? DATA_NONE : s.data === 'verdict' ? DATA_VERDICT : DATA_VALUE;
  if (e.kind !== kind || (kind === DATA_VALUE && e.valueLen !== s.data)) throw new Refused('EINVAL', what);
  if (kind !== DATA_VERDICT || e.code === NF_DROP) return undefined;
  if (e.code !== NFT_GOTO && e.code !== NFT_JUMP) throw new Refused('EINVAL', what);
  const chain = latin1(b, e.chainAt, e.chainLen);
  if (!t.chains.has(chain)) throw new Refused('ENOENT', what);
  return chain;
}

/** Apply one packed batch to `rs` (a copy: the caller keeps it only if this returns). */
export function applyBatch(rs: FakeRuleset, packed: Uint8Array): { messages: number; elements: number } {
  const e = rawElem();
  let at = 0;
  let messages = 0;
  let elements = 0;
  while (at < packed.length) {
    const op = readOpHeader(packed, at);
    if (!op || (op.verb !== VERB.add && op.verb !== VERB.delete) || !FAMILY[op.nfproto]) throw new Refused('EINVAL', 'malformed element batch (operation header)');
    const verb = op.verb === VERB.add ? 'add' : 'delete';
    const range = (i: number) => {
      const first = i - (i % ELEMENTS_PER_MESSAGE);
      return `${verb} element(s) ${first}-${Math.min(first + ELEMENTS_PER_MESSAGE, op.count) - 1} of set ${op.set}`;
    };
    const t = rs.tables.get(`${FAMILY[op.nfproto]} ${op.table}`);
    const s = t?.sets.get(op.set);
    if (!t || !s) throw new Refused('ENOENT', range(0));
    at = op.next;
    for (let i = 0; i < op.count; i++) {
      const start = at;
      at = readElem(packed, at, e);
      if (at < 0) throw new Refused('EINVAL', `malformed element batch (element ${i} of set ${op.set})`);
      if (e.keyLen !== s.keyLen) throw new Refused('EINVAL', range(i));
      const key = hex(packed, e.keyAt, e.keyLen);
      if (verb === 'delete') {
        if (!s.elems.delete(key)) throw new Refused('ENOENT', range(i));
        continue;
      }
      const chain = checkAdd(t, s, packed, e, range(i));
      if (s.elems.has(key)) throw new Refused('EEXIST', range(i));
      if (s.size !== undefined && s.elems.size >= s.size) throw new Refused('ENFILE', range(i));
      s.elems.set(key, { bytes: packed.slice(start, at), chain });
    }
    messages += Math.ceil(op.count / ELEMENTS_PER_MESSAGE);
    elements += op.count;
  }
  return { messages, elements };
}

/** A set's elements as the addon's dump gives them (packed `dump`). */
export function dumpSet(rs: FakeRuleset, o: { family: 4 | 6; table: string; set: string }): { count: number; data: Buffer } {
  const s = rs.tables.get(`${o.family === 4 ? 'ip' : 'ip6'} ${o.table}`)?.sets.get(o.set);
  if (!s) throw new Refused('ENOENT', `${o.table} ${o.set}`);
  const parts = [...s.elems.values()].map((x) => x.bytes);
  return { count: parts.length, data: Buffer.concat(parts) };
}
