/** The node's own addresses (where node ports answer), kept in svp_node_addrs. */
import { isIP } from 'node:net';
import type { BpfMapOp } from '../../native/bpf.js';
import { run } from '../../native/exec.js';
import type { Netns } from '../../native/netns.js';
import { ADDR_KEY, encodeAddr } from './layout.js';
import { Batch } from './pack.js';

interface IpAddrJson {
  addr_info?: { local?: string; scope?: string }[];
}

/** Global and host addresses of the namespace, as `ip -j addr` reports them. */
export async function nodeAddresses(netns: Netns): Promise<string[]> {
  const res = await run(['ip', '-j', 'addr', 'show'], { netns, op: 'ip addr' });
  const links = JSON.parse(res.out || '[]') as IpAddrJson[];
  const addrs = new Set<string>();
  for (const l of links) for (const a of l.addr_info ?? []) if (a.local && isIP(a.local) && a.scope !== 'link') addrs.add(a.local);
  return [...addrs].sort();
}

/** Replace the map's contents: add the new addresses, then drop the stale ones. */
export function nodeAddrOps(path: string, want: string[], have: string[]): BpfMapOp[] {
  const put = new Batch(path, 'update', ADDR_KEY.size, 4);
  const del = new Batch(path, 'delete', ADDR_KEY.size);
  const key = (b: Batch, ip: string) => {
    const off = b.keys.next();
    encodeAddr(b.keys.buf, off + ADDR_KEY.fields.addr!.offset, ip);
    b.keys.buf.writeUInt32LE(isIP(ip), off + ADDR_KEY.fields.family!.offset);
  };
  for (const ip of want.filter((a) => !have.includes(a))) {
    key(put, ip);
    const v = put.values!.next();
    put.values!.buf.writeUInt32LE(1, v);
  }
  for (const ip of have.filter((a) => !want.includes(a))) key(del, ip);
  return [put.toOp(), del.toOp()].filter((o): o is BpfMapOp => o !== undefined);
}
