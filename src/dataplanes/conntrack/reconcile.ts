/**
 * Stale UDP conntrack as a reconciler (kube-proxy 1.32, pkg/proxy/conntrack/cleanup.go):
 * list the UDP flows once, delete those sent to a Service frontend whose NAT
 * destination (the reply source) is no longer one of that Service port's
 * endpoints. A flow whose original destination is not a UDP Service frontend
 * did not go through a Service and is never touched; on a node port only
 * DNATed flows count (an un-NATed one went to a host socket).
 */
import { run } from '../../native/exec.js';
import type { Netns } from '../../native/netns.js';
import type { ServicePortState } from '../../plan/types.js';

export interface UdpFlow {
  origSrc: string;
  origDst: string;
  sport: number;
  dport: number;
  replySrc: string;
  replySport: number;
}

/** `conntrack -L -o extended` lines: the first src/dst/sport/dport are the original tuple, the second the reply. */
export function parseFlows(text: string): UdpFlow[] {
  const out: UdpFlow[] = [];
  for (const line of text.split('\n')) {
    if (!/\budp\b/.test(line)) continue;
    const src = [...line.matchAll(/\bsrc=(\S+)/g)].map((m) => m[1]!);
    const dst = [...line.matchAll(/\bdst=(\S+)/g)].map((m) => m[1]!);
    const sport = [...line.matchAll(/\bsport=(\d+)/g)].map((m) => Number(m[1]));
    const dport = [...line.matchAll(/\bdport=(\d+)/g)].map((m) => Number(m[1]));
    if (src.length < 2 || dst.length < 1 || sport.length < 2 || dport.length < 1) continue;
    out.push({ origSrc: src[0]!, origDst: dst[0]!, sport: sport[0]!, dport: dport[0]!, replySrc: src[1]!, replySport: sport[1]! });
  }
  return out;
}

/** The flows to delete: to a UDP frontend, NATed to something that is not one of its endpoints now. */
export function staleFlows(flows: UdpFlow[], states: ServicePortState[]): UdpFlow[] {
  const byFrontend = new Map<string, Set<string>>();
  const byNodePort = new Map<number, Set<string>>();
  const add = <K>(m: Map<K, Set<string>>, k: K, eps: string[]) => {
    const set = m.get(k) ?? new Set<string>();
    for (const e of eps) set.add(e);
    m.set(k, set);
  };
  for (const s of states) {
    if (s.protocol !== 'UDP') continue;
    const eps = [...s.internal, ...s.external].map((b) => `${b.address}:${b.port}`);
    for (const ip of [s.clusterIP, ...s.externalIPs, ...s.loadBalancerIPs]) add(byFrontend, `${ip}:${s.port}`, eps);
    if (s.nodePort !== null) add(byNodePort, s.nodePort, eps);
  }
  return flows.filter((f) => {
    const reply = `${f.replySrc}:${f.replySport}`;
    const frontend = byFrontend.get(`${f.origDst}:${f.dport}`);
    if (frontend) return !frontend.has(reply);
    const nodePort = byNodePort.get(f.dport);
    return nodePort !== undefined && f.replySrc !== f.origDst && !nodePort.has(reply);
  });
}

export interface ReconcileOptions {
  netns?: Netns;
  /** what the dataplane holds now */
  states: ServicePortState[];
}

/** One listing per family, then one exact-tuple delete per stale flow. Returns the flows deleted. */
export async function reconcileUdpConntrack(o: ReconcileOptions): Promise<UdpFlow[]> {
  const stale: UdpFlow[] = [];
  for (const family of ['ipv4', 'ipv6']) {
    const listed = await run(['conntrack', '-L', '-f', family, '-p', 'udp', '-o', 'extended'], { netns: o.netns, allowFailure: true, op: 'conntrack' });
    stale.push(...staleFlows(parseFlows(listed.out), o.states));
  }
  for (const f of stale) {
    const tuple = ['-p', 'udp', '--orig-src', f.origSrc, '--orig-dst', f.origDst, '--sport', String(f.sport), '--dport', String(f.dport)];
    await run(['conntrack', '-D', ...tuple], { netns: o.netns, allowFailure: true, op: 'conntrack' });
  }
  return stale;
}

/** Modes whose UDP NAT lives in conntrack (bpf translates at connect time, with no NAT flow). */
export const CONNTRACK_MODES: readonly string[] = ['iptables', 'nftables', 'ipvs'];
