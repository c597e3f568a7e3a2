/**
 * Typed wrapper over the ipset nfnetlink binding (native/ipset.cc): only
 * what IPVS mode's sets need (hairpin hash:ip,port,ip; filter hash:ip,port
 * and hash:ip), in IPv4.
 */
import { native } from './binding.js';
import { SvcproxyError } from '../errors.js';
import type { Netns } from './netns.js';

/** ipset's own errnos (enum ipset_errno, linux/netfilter/ipset/ip_set.h), by number. */
const IPSET_ERRNO: Record<number, string> = {
  4097: 'IPSET_ERR_PROTOCOL',
  4098: 'IPSET_ERR_FIND_TYPE',
  4099: 'IPSET_ERR_MAX_SETS',
  4100: 'IPSET_ERR_BUSY',
  4101: 'IPSET_ERR_EXIST_SETNAME2',
  4102: 'IPSET_ERR_TYPE_MISMATCH',
  4103: 'IPSET_ERR_EXIST',
  4108: 'IPSET_ERR_REFERENCED',
  4352: 'IPSET_ERR_HASH_FULL',
};

/** hash:ip takes ip; hash:ip,port ip, port, proto; hash:ip,port,ip all four. */
export interface IpsetEntry {
  ip: string;
  port?: number;
  /** IPPROTO_* number (with port) */
  proto?: number;
  ip2?: string;
}

export type IpsetOp =
  | { cmd: 'create'; name: string; type: string; revision: number; family: 4 | 6; hashsize: number; maxelem: number }
  | { cmd: 'destroy' | 'flush'; name: string }
  | { cmd: 'swap'; name: string; name2: string }
  | { cmd: 'add' | 'del' | 'test'; name: string; entry: IpsetEntry };

export interface IpsetOpError {
  index: number;
  errno: number;
  /** errno name, or the IPSET_ERR_* name */
  code: string;
}

interface IpsetAddon {
  ipsetBatch(o: { netns?: Netns; ops: IpsetOp[] }): Promise<{ errors: IpsetOpError[] }>;
  ipsetNames(o: { netns?: Netns }): Promise<string[]>;
}

const addon = () => native() as unknown as IpsetAddon;

/** Send every op in one netlink batch inside `netns`; per-op errors come back, none throw. */
export async function ipsetBatch(netns: Netns, ops: IpsetOp[]): Promise<IpsetOpError[]> {
  if (ops.length === 0) return [];
  const { errors } = await addon().ipsetBatch({ netns, ops });
  return errors.map((e) => ({ ...e, code: IPSET_ERRNO[e.errno] ?? e.code }));
}

/** Like ipsetBatch(), but rejects with the first error not tolerated. */
export async function ipsetApply(netns: Netns, ops: IpsetOp[], tolerate: (op: IpsetOp, code: string) => boolean = () => false): Promise<void> {
  const bad = (await ipsetBatch(netns, ops)).filter((e) => !tolerate(ops[e.index]!, e.code));
  if (bad.length === 0) return;
  const e = bad[0]!;
  const op = ops[e.index]!;
  throw new SvcproxyError(`ipset: ${op.cmd} ${op.name} failed: ${e.code}${bad.length > 1 ? ` (and ${bad.length - 1} more)` : ''}`, {
    code: e.code,
    errno: e.errno,
    op: `ipset.${op.cmd}`,
  });
}

/** Every set's name in the namespace. */
export function ipsetNames(netns: Netns): Promise<string[]> {
  return addon().ipsetNames({ netns });
}
