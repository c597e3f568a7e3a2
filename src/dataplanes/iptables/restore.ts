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

/** One table's part of the restore input: chains declared (flushed) and rules written. */
interface TableText {
  decl: string[];
  rules: string[];
}

const declare = (t: TableText, chain: string) => t.decl.push(`:${chain} - [0:0]`);
const declared = (t: TableText) => t.decl.map((d) => d.slice(1, d.indexOf(' ')));

export function renderRestore(plan: Plan, view: KernelView, o: RuleOptions): RestoreText {
  const nat: TableText = { decl: [], rules: [] };
  const filter: TableText = { decl: [], rules: [] };
  const write = [...plan.changes.added, ...plan.changes.changed.map((c) => c.after)];
  writeServiceChains(write, o, nat);
  if (frontendsMoved(plan, view)) writeDispatch(plan.desired, o, nat, filter);
  writeMissingJumps(view, nat, filter);
  const remove = chainsToRemove(plan, view, o);
  for (const c of remove) declare(nat, c);
  const text = [
    '*nat',
    ...nat.decl,
    ...nat.rules,
    ...remove.map((c) => `-X ${c}`),
    'COMMIT',
    '*filter',
    ...filter.decl,
    ...filter.rules,
    'COMMIT',
    '',
  ].join('\n');
  return {
    text,
    written: write.length,
    removed: plan.changes.removed.length,
    rules: nat.rules.length + filter.rules.length,
    after: viewAfter(view, nat, filter, remove),
  };
}

/** the chains of added and changed service ports, rewritten whole */
function writeServiceChains(write: ServicePortState[], o: RuleOptions, nat: TableText): void {
  for (const s of write) {
    for (const [chain, rules] of serviceChains(s, o)) {
      declare(nat, chain);
      nat.rules.push(...rules);
    }
  }
}

/** the dispatch chains hold every frontend: rewrite them when one appears, goes or turns empty */
function frontendsMoved(plan: Plan, view: KernelView): boolean {
  const { changes } = plan;
  const emptiness = (s: ServicePortState) => `${s.internal.length > 0}${s.external.length > 0}${s.hasEndpoints}`;
  return (
    changes.added.length > 0 ||
    changes.removed.length > 0 ||
    changes.changed.some((c) => movesFrontends(c) || emptiness(c.before) !== emptiness(c.after)) ||
    !view.nat.has(n.SERVICES) ||
    !view.filter.has(n.FILTER)
  );
}

/** static chains, SVP-SERVICES / SVP-NODEPORTS and SVP-FILTER, from every desired service port */
function writeDispatch(desired: ServicePortState[], o: RuleOptions, nat: TableText, filter: TableText): void {
  for (const [chain, rules] of staticChains(o)) {
    declare(nat, chain);
    nat.rules.push(...rules);
  }
  declare(nat, n.SERVICES);
  declare(nat, n.NODEPORTS);
  declare(filter, n.FILTER);
  const nodePorts: string[] = [];
  for (const s of desired) {
    const d = dispatchRules(s);
    nat.rules.push(...d.services);
    nodePorts.push(...d.nodePorts);
    filter.rules.push(...filterRules(s));
  }
  nat.rules.push(nodePortsJump, ...nodePorts);
}

/** jumps from the built-in chains, inserted once (never declared: built-ins are not flushed) */
function writeMissingJumps(view: KernelView, nat: TableText, filter: TableText): void {
  for (const j of n.JUMPS) {
    if (view.jumps.has(`${j.table}:${j.from}:${j.to}`)) continue;
    const rule = `-I ${j.from}${j.match ? ` ${j.match}` : ''} -m comment --comment "${j.comment}" -j ${j.to}`;
    (j.table === 'nat' ? nat : filter).rules.push(rule);
  }
}

/** owned service chains no desired service port uses any more */
function chainsToRemove(plan: Plan, view: KernelView, o: RuleOptions): string[] {
  const wanted = new Set<string>();
  for (const s of plan.desired) for (const name of serviceChains(s, o).keys()) wanted.add(name);
  return [...view.nat].filter((c) => OWNED_SERVICE_CHAIN.test(c) && !wanted.has(c));
}

function viewAfter(view: KernelView, nat: TableText, filter: TableText, remove: string[]): KernelView {
  const afterNat = new Set([...view.nat, ...declared(nat)]);
  for (const c of remove) afterNat.delete(c);
  return {
    nat: afterNat,
    filter: new Set([...view.filter, ...declared(filter)]),
    jumps: new Set(n.JUMPS.map((j) => `${j.table}:${j.from}:${j.to}`)),
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
