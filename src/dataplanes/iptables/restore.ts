/**
 * Plan -> iptables-restore input. With --noflush, only the chains declared
 * here are flushed and rewritten: the chains of added and changed service
 * ports, the dispatch chains when a frontend changed, and the chains to
 * delete (declared to flush them, then -X). Built-in chains are never
 * declared; svcproxy only inserts its jump rules there, once.
 */
import { movesFrontends, type Plan, type ServicePortState } from '../../plan/types.js';
import * as n from './names.js';
import { dispatchRules, filterRules, nodePortsJump, serviceChains, staticChains, type RuleOptions } from './rules.js';

/** What svcproxy owns in the kernel, as last read or written. */
export interface KernelView {
  nat: Set<string>;
  filter: Set<string>;
  /** "table:BUILTIN:SVP-CHAIN" of jump rules present */
  jumps: Set<string>;
}

export interface RestoreText {
  text: string;
  written: number;
  removed: number;
  rules: number;
  /** the owned chains once this is applied */
  after: KernelView;
}

const OWNED_SERVICE_CHAIN = /^SVP-(SVC|EXT|SVX|SEP)-[0-9A-F]{16}$/;

export function renderRestore(plan: Plan, view: KernelView, o: RuleOptions): RestoreText {
  const { changes } = plan;
  const nat: string[] = [];
  const natDecl: string[] = [];
  const filter: string[] = [];
  const filterDecl: string[] = [];

  const write = [...changes.added, ...changes.changed.map((c) => c.after)];
  const wanted = new Set<string>();
  for (const s of plan.desired) for (const name of serviceChains(s, o).keys()) wanted.add(name);
  for (const s of write) {
    for (const [chain, rules] of serviceChains(s, o)) {
      natDecl.push(`:${chain} - [0:0]`);
      nat.push(...rules);
    }
  }

  const emptiness = (s: ServicePortState) => `${s.internal.length > 0}${s.external.length > 0}${s.hasEndpoints}`;
  const frontendsMoved =
    changes.added.length > 0 ||
    changes.removed.length > 0 ||
    changes.changed.some((c) => movesFrontends(c) || emptiness(c.before) !== emptiness(c.after)) ||
    !view.nat.has(n.SERVICES) ||
    !view.filter.has(n.FILTER);
  if (frontendsMoved) {
    for (const [chain, rules] of staticChains(o)) {
      natDecl.push(`:${chain} - [0:0]`);
      nat.push(...rules);
    }
    natDecl.push(`:${n.SERVICES} - [0:0]`, `:${n.NODEPORTS} - [0:0]`);
    filterDecl.push(`:${n.FILTER} - [0:0]`);
    const nodePorts: string[] = [];
    for (const s of plan.desired) {
      const d = dispatchRules(s);
      nat.push(...d.services);
      nodePorts.push(...d.nodePorts);
      filter.push(...filterRules(s));
    }
    nat.push(nodePortsJump, ...nodePorts);
  }

  for (const j of n.JUMPS) {
    if (view.jumps.has(`${j.table}:${j.from}:${j.to}`)) continue;
    const rule = `-I ${j.from}${j.match ? ` ${j.match}` : ''} -m comment --comment "${j.comment}" -j ${j.to}`;
    (j.table === 'nat' ? nat : filter).push(rule);
  }

  const remove = [...view.nat].filter((c) => OWNED_SERVICE_CHAIN.test(c) && !wanted.has(c));
  for (const c of remove) natDecl.push(`:${c} - [0:0]`);
  const text = [
    '*nat',
    ...natDecl,
    ...nat,
    ...remove.map((c) => `-X ${c}`),
    'COMMIT',
    '*filter',
    ...filterDecl,
    ...filter,
    'COMMIT',
    '',
  ].join('\n');

  const afterNat = new Set([...view.nat].filter((c) => !remove.includes(c)));
  for (const d of natDecl) afterNat.add(d.slice(1, d.indexOf(' ')));
  for (const c of remove) afterNat.delete(c);
  const afterFilter = new Set([...view.filter, ...filterDecl.map((d) => d.slice(1, d.indexOf(' ')))]);
  return {
    text,
    written: write.length,
    removed: changes.removed.length,
    rules: nat.length + filter.length,
    after: { nat: afterNat, filter: afterFilter, jumps: new Set(n.JUMPS.map((j) => `${j.table}:${j.from}:${j.to}`)) },
  };
}

/** Restore input that removes everything svcproxy owns (jumps first, then chains). */
export function renderCleanup(view: KernelView, jumpLines: { table: string; line: string }[]): string {
  const out: string[] = [];
  for (const table of ['nat', 'filter'] as const) {
    const chains = [...view[table]];
    out.push(`*${table}`);
    for (const c of chains) out.push(`:${c} - [0:0]`);
    for (const j of jumpLines) if (j.table === table) out.push(j.line.replace(/^-A /, '-D '));
    for (const c of chains) out.push(`-X ${c}`);
    out.push('COMMIT');
  }
  return out.join('\n') + '\n';
}
