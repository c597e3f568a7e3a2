/**
 * An incremental sync of one family: the element adds and deletes (and the
 * affinity chains) that turn what this dataplane wrote into the desired
 * states of the touched ports, computed from memory, never by listing the kernel.
 */
import type { ServicePortState } from '../../plan/types.js';
import { elemId, groupOps, type Elem } from './encode.js';
import { bump, hairpinElem, type FamilyMemory, type FamilyStep } from './family.js';
import type { SetName } from './names.js';
import { isTight, portObjects, type MasqueradeOptions, type PortClasses, type PortObjects } from './objects.js';
import { chainDelta } from './ruleset.js';

export interface DeltaFamilyInput {
  memory: FamilyMemory;
  /** ports written (added or changed) and ports removed, of this family */
  add: ServicePortState[];
  del: ServicePortState[];
  masq: MasqueradeOptions;
}

/** Whether every shared pick chain the port's verdicts need exists (else: a full rebuild). */
export function picksBuilt(fm: FamilyMemory, s: ServicePortState, masq: MasqueradeOptions): boolean {
  const old = fm.ports.get(s.key);
  const had = old && portObjects(old, masq, fm.classes.get(s.key)).classes;
  return portObjects(s, masq, had).picks.every((c) => fm.picks.has(c));
}

/** The old objects of the touched ports, the classes they had, and the hairpin counts they give up. */
function retire(fm: FamilyMemory, touched: ServicePortState[], masq: MasqueradeOptions) {
  const before: PortObjects[] = [];
  const dropped = new Set<string>();
  const oldClasses = new Map<string, PortClasses>();
  const net = new Map<string, number>(); // hairpin count changes
  for (const s of touched) {
    const oldState = dropped.has(s.key) ? undefined : fm.ports.get(s.key);
    if (!oldState) continue;
    dropped.add(s.key);
    const old = portObjects(oldState, masq, fm.classes.get(s.key));
    oldClasses.set(s.key, old.classes);
    before.push(old);
    for (const a of old.endpoints) bump(net, a, -1);
  }
  return { before, dropped, oldClasses, net };
}

/** Hairpin elements whose address starts or stops being used, and the counts after. */
function hairpinChanges(fm: FamilyMemory, net: Map<string, number>) {
  const gone: Elem[] = [];
  const fresh: Elem[] = [];
  const counts = new Map<string, number>();
  for (const [a, d] of net) {
    const was = fm.hairpin.get(a) ?? 0;
    const now = was + d;
    counts.set(a, now);
    if (was > 0 && now <= 0) gone.push(hairpinElem(a));
    if (was <= 0 && now > 0) fresh.push(hairpinElem(a));
  }
  return { gone, fresh, counts };
}

/** Elements in `before` only go, elements in `after` only come (identity: key, value, comment). */
function elementChanges(before: PortObjects[], after: PortObjects[], gone: Elem[], fresh: Elem[]): void {
  const idsA = new Map(before.flatMap((o) => o.elements).map((e) => [elemId(e), e]));
  const idsB = new Map(after.flatMap((o) => o.elements).map((e) => [elemId(e), e]));
  for (const [id, e] of idsA) if (!idsB.has(id)) gone.push(e);
  for (const [id, e] of idsB) if (!idsA.has(id)) fresh.push(e);
}

function countsAfter(fm: FamilyMemory, gone: Elem[], fresh: Elem[]): Map<SetName, number> {
  const grown = new Map(fm.counts);
  for (const e of gone) grown.set(e.set, grown.get(e.set)! - 1);
  for (const e of fresh) grown.set(e.set, grown.get(e.set)! + 1);
  return grown;
}

/** undefined: a set would outgrow its declared size (rebuild with room). */
export function deltaFamily(o: DeltaFamilyInput): FamilyStep | undefined {
  const { memory: fm, masq } = o;
  const { before, dropped, oldClasses, net } = retire(fm, [...o.del, ...o.add], masq);
  // the classes its verdicts have now may stay (a flapping count changes no verdict)
  const after = o.add.map((state) => ({ state, objects: portObjects(state, masq, oldClasses.get(state.key)) }));
  for (const p of after) for (const a of p.objects.endpoints) bump(net, a, 1);
  const { gone, fresh, counts } = hairpinChanges(fm, net);
  const afterObjs = after.map((p) => p.objects);
  elementChanges(before, afterObjs, gone, fresh);
  const grown = countsAfter(fm, gone, fresh);
  if ([...grown].some(([n, c]) => c > fm.sizes.get(n)!)) return undefined;

  const f = o.add[0]?.family ?? o.del[0]!.family;
  const cd = chainDelta(f, fm.table, before, afterObjs);
  const back = chainDelta(f, fm.table, afterObjs, before);
  const commit = () => {
    for (const k of dropped) {
      fm.ports.delete(k);
      fm.classes.delete(k);
    }
    for (const p of after) {
      fm.ports.set(p.state.key, p.state);
      if (!isTight(p.state, p.objects.classes)) fm.classes.set(p.state.key, p.objects.classes);
    }
    fm.counts = grown;
    for (const [a, n] of counts) {
      if (n > 0) fm.hairpin.set(a, n);
      else fm.hairpin.delete(a);
    }
  };
  return {
    pre: cd.pre,
    post: cd.post,
    undo: back.pre + back.post,
    dels: groupOps('delete', f, fm.table, gone),
    adds: groupOps('add', f, fm.table, fresh),
    commit,
    detail: { chains: cd.chains, sets: cd.sets, elements: gone.length + fresh.length },
  };
}
