/**
 * Real-server (dest) changes of the virtual servers a sync keeps, diffed
 * against the kernel, and the drain list. A TCP dest no longer wanted keeps
 * serving its connections at weight 0 and is deleted once ActiveConns +
 * InActConns reach 0 (checked at every sync). UDP and SCTP dests are deleted
 * at once, as kube-proxy does (#77802): a datagram flow has no end IPVS
 * could wait for, so a weight-0 dest kept receiving the client's packets
 * for as long as it kept sending.
 */
import { IPPROTO, IPVS_CMD, type IpvsClient, type IpvsDest, type IpvsOp, type IpvsServiceSpec } from '../../native/ipvs.js';
import { vsKey, type VirtualServer } from './frontends.js';
import type { Draining } from './state.js';

const destKey = (d: { address: string; port: number }) => `${d.address}:${d.port}`;

/** Only TCP connections end in a way IPVS counts (kube-proxy's IsRsGracefulTerminationNeeded). */
export const drainsGracefully = (service: Pick<IpvsServiceSpec, 'protocol'>) => service.protocol === IPPROTO.TCP;

/** Appends the dest ops of `kept` (and of dests left draining elsewhere) to `ops`; the new drain list. */
export async function destOps(ipvs: IpvsClient, kept: VirtualServer[], oldDraining: Draining[], ops: IpvsOp[]): Promise<Draining[]> {
  const keys = new Set(kept.map((v) => vsKey(v.spec)));
  const recheck = oldDraining.filter((d) => !keys.has(vsKey(d.service)));
  const specs = [...kept.map((v) => v.spec), ...recheck.map((d) => d.service)];
  if (specs.length === 0) return [];
  const current = await ipvs.dests(specs);
  const draining: Draining[] = [];
  kept.forEach((v, i) => diffDests(v, current[i] ?? [], ops, draining));
  recheck.forEach((dr, j) => {
    const d = (current[kept.length + j] ?? []).find((x) => destKey(x) === destKey(dr.dest));
    if (d && d.weight === 0) retire(dr.service, d, ops, draining);
  });
  return draining;
}

function diffDests(v: VirtualServer, current: IpvsDest[], ops: IpvsOp[], draining: Draining[]): void {
  const have = new Map(current.map((d) => [destKey(d), d]));
  const want = new Set(v.backends.map(destKey));
  for (const b of v.backends) {
    const d = have.get(destKey(b));
    if (!d) ops.push({ cmd: IPVS_CMD.NEW_DEST, service: v.spec, dest: { ...b, fwd: 0, weight: 1 } });
    else if (d.weight !== 1) ops.push({ cmd: IPVS_CMD.SET_DEST, service: v.spec, dest: { ...b, fwd: 0, weight: 1 } });
  }
  for (const d of have.values()) if (!want.has(destKey(d))) retire(v.spec, d, ops, draining);
}

/** A dest no longer wanted: drained at weight 0 while TCP connections remain, else deleted. */
export function retire(service: IpvsServiceSpec, d: IpvsDest, ops: IpvsOp[], draining: Draining[]): void {
  const dest = { address: d.address, port: d.port, fwd: d.fwd, weight: 0 };
  if (drainsGracefully(service) && d.activeConns + d.inactiveConns > 0) {
    if (d.weight !== 0) ops.push({ cmd: IPVS_CMD.SET_DEST, service, dest });
    draining.push({ service, dest });
  } else {
    ops.push({ cmd: IPVS_CMD.DEL_DEST, service, dest });
  }
}
