/**
 * The packed element format shared with the addon; its one definition is
 * native/nft/packed.h (layout drawn there). These values mirror it and
 * test/unit/nftables.packed.test.ts checks them against the compiled header.
 */
export const VERB = { add: 0, delete: 1 } as const;
export const DATA_NONE = 0;
export const DATA_VALUE = 1;
export const DATA_VERDICT = 2;
export const COUNT_SIZE = 4;
export const VERDICT_CODE_SIZE = 4;
export const MAX_FIELD = 255;

// Kernel constants the format carries: uapi linux/netfilter.h NFPROTO_*, NF_DROP; nf_tables.h NFT_JUMP / NFT_GOTO
export const NFPROTO_IPV4 = 2;
export const NFPROTO_IPV6 = 10;
export const NF_DROP = 0;
export const NFT_JUMP = -3;
export const NFT_GOTO = -4;

/** Where the fields of one packed `elem` lie in its buffer (offsets; filled in place, no allocation per element). */
export interface RawElem {
  keyAt: number;
  keyLen: number;
  kind: number;
  /** DATA_VALUE: the value bytes */
  valueAt: number;
  valueLen: number;
  /** DATA_VERDICT: the i32 code and the chain name bytes */
  code: number;
  chainAt: number;
  chainLen: number;
  commentAt: number;
  commentLen: number;
}

export const rawElem = (): RawElem => ({ keyAt: 0, keyLen: 0, kind: 0, valueAt: 0, valueLen: 0, code: 0, chainAt: 0, chainLen: 0, commentAt: 0, commentLen: 0 });

/** Read the `elem` at `at` into `e`; the offset after it, or -1 when it does not fit the buffer or the format. */
export function readElem(b: Uint8Array, at: number, e: RawElem): number {
  const end = b.length;
  const field = (): number => (at < end ? b[at++]! : -1);
  e.keyLen = field();
  e.keyAt = at;
  at += e.keyLen;
  e.kind = field();
  e.valueLen = 0;
  e.chainLen = 0;
  e.code = 0;
  if (e.kind === DATA_VALUE) {
    e.valueLen = field();
    e.valueAt = at;
    at += e.valueLen;
  } else if (e.kind === DATA_VERDICT) {
    if (at + VERDICT_CODE_SIZE > end) return -1;
    e.code = b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
    at += VERDICT_CODE_SIZE;
    e.chainLen = field();
    e.chainAt = at;
    at += e.chainLen;
  } else if (e.kind !== DATA_NONE) return -1;
  e.commentLen = field();
  e.commentAt = at;
  at += e.commentLen;
  return e.keyLen < 0 || e.valueLen < 0 || e.chainLen < 0 || e.commentLen < 0 || at > end ? -1 : at;
}

/** The header of one `op` of a batch. */
export interface OpHeader {
  verb: number;
  nfproto: number;
  table: string;
  set: string;
  count: number;
  /** offset of its first elem */
  next: number;
}

const latin1 = (b: Uint8Array, at: number, n: number) => String.fromCharCode(...b.subarray(at, at + n));

export function readOpHeader(b: Uint8Array, at: number): OpHeader | undefined {
  if (at + 3 > b.length) return undefined;
  const verb = b[at]!;
  const nfproto = b[at + 1]!;
  const tableLen = b[at + 2]!;
  const table = latin1(b, at + 3, tableLen);
  at += 3 + tableLen;
  const setLen = b[at] ?? 0;
  const set = latin1(b, at + 1, setLen);
  at += 1 + setLen;
  if (at + COUNT_SIZE > b.length) return undefined;
  const count = (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
  return { verb, nfproto, table, set, count, next: at + COUNT_SIZE };
}
