/**
 * Which mode to use: `open({ mode: 'auto' })` and `svcproxy detect`'s
 * recommendation. Preference follows lookup cost: the O(1) NAT modes first
 * (nftables, then IPVS), iptables last (O(n) rules per new connection).
 * bpf is chosen only when a cgroup is given: it translates connect() of that
 * cgroup's sockets and does nothing for traffic forwarded through the node.
 */
import { SvcproxyError } from '../errors.js';
import type { Capability, Mode } from '../dataplanes/types.js';

const PREFERENCE: Mode[] = ['nftables', 'ipvs', 'iptables'];

export interface Recommendation {
  mode: Mode;
  why: string;
}

export function recommend(caps: Capability[], opts: { services?: number; cgroup?: string } = {}): Recommendation {
  const usable = (m: Mode) => caps.find((c) => c.mode === m)?.usable === true;
  const n = opts.services;
  if (opts.cgroup && usable('bpf')) {
    return { mode: 'bpf', why: 'a cgroup is given: connect-time translation, no per-packet NAT' };
  }
  for (const m of PREFERENCE) {
    if (!usable(m)) continue;
    if (m === 'iptables') {
      const cost = n ? ` (every new connection walks up to ${n} service rules)` : '';
      return { mode: m, why: `the only usable NAT mode here${cost}` };
    }
    return { mode: m, why: `O(1) lookup per new connection${n ? ` at ${n} services` : ''}; usable here` };
  }
  const reasons = caps.map((c) => `${c.mode}: ${c.reason}`).join('; ');
  throw new SvcproxyError(`no usable mode here (${reasons})`, { code: 'ENOMODE', op: 'detect' });
}
