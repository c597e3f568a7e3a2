/** bpf mode's text form of a plan: the map entries it would write. */
import type { Backend, Plan, ServicePortState } from '../../plan/types.js';
import { externalShared, frontendsOf, type Frontend } from './entries.js';

const fe = (f: Frontend) => `${f.addr === '' ? '*node*' : f.family === 6 ? `[${f.addr}]` : f.addr}:${f.port}/${f.proto}`;
const list = (l: Backend[]) => (l.length === 0 ? 'reject' : l.map((b) => `${b.address}:${b.port}`).join(' '));

function lines(op: string, s: ServicePortState): string[] {
  const shared = externalShared(s);
  const out = frontendsOf(s).map((f) => `${op} svp_services ${fe(f)} -> ${list(f.external && !shared ? s.external : s.internal)}`);
  out.push(`${op} svp_meta ${s.key}${s.affinitySeconds !== null ? ` affinity=${s.affinitySeconds}s` : ''}`);
  return out;
}

export function renderBpf(plan: Plan): string {
  const out: string[] = [];
  for (const s of plan.changes.added) out.push(...lines('+', s));
  for (const c of plan.changes.changed) out.push(...lines('~', c.after));
  for (const s of plan.changes.removed) out.push(...lines('-', s));
  return out.join('\n');
}
