/**
 * What each mode is, as the layers above need to know it: switch.ts decides
 * the hand-over keeper from these, choose.ts ranks modes by them, so
 * src/api/ never names a mode.
 */
import type { Mode } from './types.js';

export interface ModeTraits {
  /** translates with netfilter/IPVS NAT, so established flows live in conntrack */
  nat: boolean;
  /**
   * its own rules keep conntrack and every nat hook in use (DNAT rules), so
   * the hand-over keeper can go once it is programmed. IPVS (its own NAT,
   * only a MASQUERADE rule in netfilter) and bpf (none) do not; seen on the
   * User-Mode Linux kernel: iptables -> ipvs reset the iptables-era flows.
   */
  holdsConntrack: boolean;
  /** works only for the sockets of a given cgroup (connect-time translation) */
  needsCgroup: boolean;
  /** cost of the lookup per new connection */
  lookup: 'O(1)' | 'O(n)';
  /** preference among usable modes for 'auto', lower first (lookup cost, then maturity) */
  rank: number;
}

const TRAITS: Record<Mode | 'fake', ModeTraits> = {
  nftables: { nat: true, holdsConntrack: true, needsCgroup: false, lookup: 'O(1)', rank: 1 },
  ipvs: { nat: true, holdsConntrack: false, needsCgroup: false, lookup: 'O(1)', rank: 2 },
  iptables: { nat: true, holdsConntrack: true, needsCgroup: false, lookup: 'O(n)', rank: 3 },
  bpf: { nat: false, holdsConntrack: false, needsCgroup: true, lookup: 'O(1)', rank: 0 },
  // the in-memory dataplane of unit tests: no kernel state to keep alive
  fake: { nat: false, holdsConntrack: false, needsCgroup: false, lookup: 'O(1)', rank: 9 },
};

export const traitsOf = (mode: Mode | 'fake'): ModeTraits => TRAITS[mode];
