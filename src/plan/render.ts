/** Render a change set as readable text (dry-run output, golden tests). */
import { ASPECTS, displayName, type Aspect, type Backend, type ChangeSet, type PortChange, type ServicePortState } from './types.js';

/** the words the change text uses for each aspect (golden output depends on them) */
const ASPECT_TEXT: Record<Aspect, string> = {
  clusterIP: 'cluster IP/port',
  nodePort: 'node port',
  externalIPs: 'external IPs',
  affinity: 'affinity',
  policy: 'traffic policy',
  endpoints: 'endpoints',
};

export const describeAspects = (what: PortChange['what']) =>
  ASPECTS.filter((a) => what.has(a))
    .map((a) => ASPECT_TEXT[a])
    .join(', ');

const backends = (l: Backend[]) => (l.length === 0 ? 'no endpoints' : l.map((b) => `${b.address}:${b.port}`).join(' '));

export function describePort(s: ServicePortState): string {
  const fronts = [`${s.clusterIP}:${s.port}`];
  if (s.nodePort !== null) fronts.push(`nodePort ${s.nodePort}`);
  for (const ip of [...s.externalIPs, ...s.loadBalancerIPs]) fronts.push(`${ip}:${s.port}`);
  const extras = [s.affinitySeconds !== null ? `affinity ${s.affinitySeconds}s` : '', s.externalLocal ? 'external Local' : '']
    .filter(Boolean)
    .map((x) => ` [${x}]`)
    .join('');
  let ends = backends(s.internal);
  const externalFrontends = s.nodePort !== null || s.externalIPs.length + s.loadBalancerIPs.length > 0;
  if (externalFrontends && JSON.stringify(s.internal) !== JSON.stringify(s.external)) ends += ` | external: ${backends(s.external)}`;
  return `${displayName(s)} ${s.protocol} ${fronts.join(', ')} -> ${ends}${extras}`;
}

/** limit: at most this many service-port lines (big syncs), then a count of the rest */
export function renderChangeSet(c: ChangeSet, limit = Infinity): string {
  const lines: string[] = [];
  for (const s of c.added) lines.push(`+ ${describePort(s)}`);
  for (const ch of c.changed) {
    lines.push(`~ ${describePort(ch.after)}  (${describeAspects(ch.what)})`);
    lines.push(`    was ${describePort(ch.before)}`);
  }
  for (const s of c.removed) lines.push(`- ${describePort(s)}`);
  if (lines.length > limit) {
    const more = lines.length - limit;
    lines.splice(limit, more, `  ... and ${more} more lines (--json for all)`);
  }
  lines.push(`${c.added.length} to add, ${c.changed.length} to change, ${c.removed.length} to remove, ${c.unchanged} unchanged`);
  return lines.join('\n');
}
