/**
 * The interface that holds the VIPs, so the node accepts their traffic and
 * IPVS (on LOCAL_IN) sees it: a dummy interface `svcproxy0` where the kernel
 * has CONFIG_DUMMY (UML does), else /32 (/128) addresses on `lo`. On `lo`
 * only the addresses svcproxy recorded are ever removed. Programmed with
 * `ip -batch` inside the namespace (rtnetlink through iproute2).
 */
import { run } from '../../native/exec.js';

export const DUMMY = 'svcproxy0';

export interface Holder {
  dev: string;
  dummy: boolean;
}

/** Create svcproxy0, or fall back to lo when the kernel has no dummy driver. */
export async function ensureHolder(netns: string): Promise<Holder> {
  const show = await run(['ip', 'link', 'show', DUMMY], { netns, allowFailure: true });
  if (show.status === 0) return { dev: DUMMY, dummy: true };
  const add = await run(['ip', 'link', 'add', DUMMY, 'type', 'dummy'], { netns, allowFailure: true });
  if (add.status !== 0) return { dev: 'lo', dummy: false };
  await run(['ip', 'link', 'set', DUMMY, 'up'], { netns, op: 'ip link' });
  return { dev: DUMMY, dummy: true };
}

export async function holderAddresses(netns: string, dev: string): Promise<Set<string>> {
  const r = await run(['ip', '-j', 'addr', 'show', 'dev', dev], { netns, allowFailure: true });
  if (r.status !== 0) return new Set();
  const links = JSON.parse(r.out || '[]') as { addr_info?: { local: string; prefixlen: number }[] }[];
  const full = (a: { local: string; prefixlen: number }) => a.prefixlen === (a.local.includes(':') ? 128 : 32);
  return new Set(links.flatMap((l) => (l.addr_info ?? []).filter(full).map((a) => a.local)));
}

/** Add and remove host addresses on the holder, in one ip -batch. */
export async function syncAddresses(netns: string, dev: string, add: string[], del: string[]): Promise<void> {
  const plen = (a: string) => (a.includes(':') ? 128 : 32);
  const lines = [
    ...del.map((a) => `address del ${a}/${plen(a)} dev ${dev}`),
    ...add.map((a) => `address add ${a}/${plen(a)} dev ${dev}`),
  ];
  if (lines.length === 0) return;
  await run(['ip', '-batch', '-'], { netns, input: lines.join('\n') + '\n', op: 'ip address' });
}

export async function deleteDummy(netns: string): Promise<void> {
  await run(['ip', 'link', 'del', DUMMY], { netns, allowFailure: true });
}

/** The node's own addresses (node ports answer there): global addresses outside the holder. */
export async function nodeAddresses(netns: string): Promise<string[]> {
  const r = await run(['ip', '-j', 'addr', 'show'], { netns, op: 'ip address' });
  const links = JSON.parse(r.out || '[]') as { ifname: string; addr_info?: { local: string; scope: string }[] }[];
  return links
    .filter((l) => l.ifname !== DUMMY && l.ifname !== 'lo')
    .flatMap((l) => (l.addr_info ?? []).filter((a) => a.scope === 'global').map((a) => a.local))
    .sort();
}
