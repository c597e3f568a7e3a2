/**
 * What differs between iptables (IPv4) and ip6tables (IPv6) in svcproxy's
 * layout: the host prefix length, the recent-match mask, how DNAT spells an
 * address with a port, and which clusterCIDR applies. Everything else (chain
 * names, rule shapes, REJECT/DROP) is the same in both, as in kube-proxy.
 */
import type { Family, Plan, ServicePortState } from '../../plan/types.js';

export const FAMILIES: readonly Family[] = [4, 6];

/** "/32" or "/128": one address */
export const hostMask = (f: Family) => (f === 6 ? '/128' : '/32');

/** --mask of the recent match (affinity per client address) */
export const recentMask = (f: Family) => (f === 6 ? 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' : '255.255.255.255');

/** DNAT --to-destination: "a.b.c.d:port" or "[v6]:port" */
export const dnatTo = (f: Family, address: string, port: number) => (f === 6 ? `[${address}]:${port}` : `${address}:${port}`);

/** a clusterCIDR applies to its own family only (a v4 CIDR says nothing about v6 sources) */
export const cidrFor = (f: Family, cidr?: string) => (cidr !== undefined && cidr.includes(':') === (f === 6) ? cidr : undefined);

/** The part of a plan that one family's tables implement. */
export function planForFamily(plan: Plan, f: Family): Plan {
  const mine = (s: ServicePortState) => s.family === f;
  const { changes } = plan;
  return {
    desired: plan.desired.filter(mine),
    actual: plan.actual.filter(mine),
    changes: {
      added: changes.added.filter(mine),
      removed: changes.removed.filter(mine),
      changed: changes.changed.filter((c) => mine(c.after)),
      unchanged: plan.desired.filter(mine).length - changes.added.filter(mine).length - changes.changed.filter((c) => mine(c.after)).length,
    },
  };
}
