/** Desired vs actual -> a typed change set, shared by every mode. */
import type { ChangeSet, PortChange, ServicePortState } from './types.js';

export function diff(desired: ServicePortState[], actual: ServicePortState[]): ChangeSet {
  const before = new Map(actual.map((s) => [s.key, s]));
  const after = new Map(desired.map((s) => [s.key, s]));
  const changes: ChangeSet = { added: [], removed: [], changed: [], unchanged: 0 };
  for (const s of desired) {
    const old = before.get(s.key);
    if (!old) changes.added.push(s);
    else {
      const what = differences(old, s);
      if (what.length === 0) changes.unchanged++;
      else changes.changed.push({ before: old, after: s, what });
    }
  }
  for (const s of actual) if (!after.has(s.key)) changes.removed.push(s);
  return changes;
}

const sameBackends = (a: ServicePortState['internal'], b: ServicePortState['internal']) =>
  a === b || (a.length === b.length && a.every((x, i) => x.address === b[i]!.address && x.port === b[i]!.port));
const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The aspects of a service port that differ, in words for the change text. */
export function differences(a: ServicePortState, b: ServicePortState): PortChange['what'] {
  const what: string[] = [];
  if (a.clusterIP !== b.clusterIP || a.port !== b.port) what.push('cluster IP/port');
  if (a.nodePort !== b.nodePort) what.push('node port');
  if (!sameList(a.externalIPs, b.externalIPs) || !sameList(a.loadBalancerIPs, b.loadBalancerIPs)) what.push('external IPs');
  if (a.affinitySeconds !== b.affinitySeconds) what.push('affinity');
  if (a.externalLocal !== b.externalLocal) what.push('traffic policy');
  if (!sameBackends(a.internal, b.internal) || !sameBackends(a.external, b.external) || a.hasEndpoints !== b.hasEndpoints) what.push('endpoints');
  return what;
}
