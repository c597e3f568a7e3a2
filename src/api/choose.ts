/**
 * Which mode to use: `open({ mode: 'auto' })` and `svcproxy detect`'s
 * recommendation. Preference follows lookup cost: the O(1) NAT modes first
 * (nftables, then IPVS), iptables last (O(n) rules per new connection).
 * bpf is chosen only when a cgroup is given: it translates connect() of that
 * cgroup's sockets and does nothing for traffic forwarded through the node.
 * The ranking itself is in dataplanes/traits.ts, read from each Capability.
 */
import { SvcproxyError } from '../errors.js';
import { MODES, type Capability, type Mode } from '../dataplanes/types.js';

export interface Recommendation {
  mode: Mode;
  why: string;
}

export function recommend(caps: Capability[], opts: { services?: number; cgroup?: string } = {}): Recommendation {
  const n = opts.services;
  const best = caps
    .filter((c): c is Capability & { mode: Mode } => c.usable && MODES.includes(c.mode as Mode))
    .map((c) => ({ mode: c.mode, traits: c.traits }))
    .filter((x) => !x.traits.needsCgroup || opts.cgroup)
    .sort((a, b) => a.traits.rank - b.traits.rank)[0];
  if (!best) {
    const reasons = caps.map((c) => `${c.mode}: ${c.reason}`).join('; ');
    throw new SvcproxyError(`no usable mode here (${reasons})`, { code: 'ENOMODE', op: 'detect' });
  }
  if (best.traits.needsCgroup) return { mode: best.mode, why: 'a cgroup is given: connect-time translation, no per-packet NAT' };
  if (best.traits.lookup === 'O(n)') {
    const cost = n ? ` (every new connection walks up to ${n} service rules)` : '';
    return { mode: best.mode, why: `the only usable NAT mode here${cost}` };
  }
  return { mode: best.mode, why: `O(1) lookup per new connection${n ? ` at ${n} services` : ''}; usable here` };
}
