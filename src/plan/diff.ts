/** Desired vs actual -> a typed change set, shared by every mode. */
import type { Aspect, ChangeSet, PortChange, ServicePortState } from './types.js';

export function diff(desired: ServicePortState[], actual: ServicePortState[]): ChangeSet {
  const before = new Map(actual.map((s) => [s.key, s]));
  const after = new Map(desired.map((s) => [s.key, s]));
  const changes: ChangeSet = { added: [], removed: [], changed: [], unchanged: 0 };
  for (const s of desired) {
    const old = before.get(s.key);
    if (!old) changes.added.push(s);
    else {
      const what = differences(old, s);
      if (what.size === 0) changes.unchanged++;
      else changes.changed.push({ before: old, after: s, what });
    }
  }
  for (const s of actual) if (!after.has(s.key)) changes.removed.push(s);
  return changes;
}

const sameBackends = (a: ServicePortState['internal'], b: ServicePortState['internal']) =>
  a === b || (a.length === b.length && a.every((x, i) => x.address === b[i]!.address && x.port === b[i]!.port));
const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The aspects of a service port that differ (empty: the same). */
export function differences(a: ServicePortState, b: ServicePortState): PortChange['what'] {
  const what = new Set<Aspect>();
  if (a.clusterIP !== b.clusterIP || a.port !== b.port) what.add('clusterIP');
  if (a.nodePort !== b.nodePort) what.add('nodePort');
  if (!sameList(a.externalIPs, b.externalIPs) || !sameList(a.loadBalancerIPs, b.loadBalancerIPs)) what.add('externalIPs');
  if (a.affinitySeconds !== b.affinitySeconds) what.add('affinity');
  if (a.externalLocal !== b.externalLocal) what.add('policy');
  if (!sameBackends(a.internal, b.internal) || !sameBackends(a.external, b.external) || a.hasEndpoints !== b.hasEndpoints) what.add('endpoints');
  return what;
}
