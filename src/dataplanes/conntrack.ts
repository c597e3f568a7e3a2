/**
 * Stale UDP conntrack entries (kube-proxy's conntrack cleanup): UDP has no
 * connection end, so a flow NATed to a removed endpoint would keep going to
 * it. After a sync, delete flows whose reply source is a removed UDP
 * endpoint, and flows to a frontend that just got its first endpoints (they
 * were recorded un-NATed while it rejected).
 */
import { run } from '../native/exec.js';
import type { Netns } from '../native/netns.js';
import type { Backend, ChangeSet, ServicePortState } from '../plan/types.js';

export interface ConntrackJob {
  args: string[];
}

const key = (b: Backend) => `${b.address}:${b.port}`;
const all = (s: ServicePortState) => [...s.internal, ...s.external];

export function staleUdpFlows(changes: ChangeSet): ConntrackJob[] {
  const jobs: ConntrackJob[] = [];
  const gone = (before: ServicePortState, after?: ServicePortState) => {
    const keep = new Set((after ? all(after) : []).map(key));
    for (const b of new Map(all(before).map((x) => [key(x), x])).values()) {
      if (!keep.has(key(b))) jobs.push({ args: ['-p', 'udp', '--reply-src', b.address, '--reply-port-src', String(b.port)] });
    }
  };
  for (const s of changes.removed) if (s.protocol === 'UDP') gone(s);
  for (const c of changes.changed) {
    if (c.after.protocol !== 'UDP') continue;
    gone(c.before, c.after);
    if (c.before.internal.length === 0 && c.after.internal.length > 0) {
      jobs.push({ args: ['-p', 'udp', '--orig-dst', c.after.clusterIP, '--dport', String(c.after.port)] });
    }
  }
  return jobs;
}

/** Run the deletions in the namespace; "no entry matched" is not a failure. */
export async function flushStaleUdp(netns: Netns, changes: ChangeSet): Promise<number> {
  const jobs = staleUdpFlows(changes);
  for (const j of jobs) await run(['conntrack', '-D', ...j.args], { netns, allowFailure: true, op: 'conntrack' });
  return jobs.length;
}
