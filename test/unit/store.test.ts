import { describe, expect, it } from 'vitest';
import { ServiceStore } from '../../src/store/index.js';
import { diff, flatten, type ServicePortState } from '../../src/plan/index.js';
import { parseServices } from '../../src/model/load.js';
import type { Service, ServiceSet } from '../../src/model/types.js';

const FAMILIES = [4, 6] as const;
const families = [...FAMILIES];
const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : 1);

/** A service with `ports` ports and one endpoint, named s<i>. */
const svc = (i: number, ep = '10.0.0.1', ports = 1): Service =>
  parseServices(
    JSON.stringify({
      services: [{ name: `s${i}`, clusterIP: `10.96.${i >> 8}.${(i & 255) + 1}`, ports: Array.from({ length: ports }, (_, j) => ({ port: 80 + j, name: `p${j}` })), endpoints: [{ address: ep }] }],
    }),
  ).services[0]!;
const setOf = (services: Service[]): ServiceSet => ({ services, ignored: [] });
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** A store that applied `services` (what a dataplane would report back). */
function appliedStore(services: Service[]): ServiceStore {
  const store = new ServiceStore({ nodeName: 'n' });
  store.load([]);
  store.planSet(setOf(services), families).commit();
  return store;
}

/** The plan from scratch: flatten everything, diff against what was applied. */
const fromScratch = (services: Service[], actual: ServicePortState[]) => diff(flatten(services, { nodeName: 'n', families }), actual);
const counts = (c: ReturnType<typeof diff>) => [c.added.length, c.changed.length, c.removed.length, c.unchanged];

describe('ServiceStore', () => {
  it('plans a full set against the applied list, and commits it as applied', () => {
    const store = new ServiceStore({ nodeName: 'n' });
    expect(store.loaded).toBe(false);
    expect(() => store.planSet(setOf([svc(1)]), families)).toThrow(/not loaded/);
    store.load(flatten([svc(1), svc(2)], { nodeName: 'n', families }));
    const tx = store.planSet(setOf([svc(2, '10.0.0.9'), svc(3)]), families);
    expect(tx.plan.changes.added.map((x) => x.name)).toEqual(['s3']);
    expect(tx.plan.changes.changed.map((x) => [x.after.name, [...x.what]])).toEqual([['s2', ['endpoints']]]);
    expect(tx.plan.changes.removed.map((x) => x.name)).toEqual(['s1']);
    expect(store.states().map((x) => x.name)).toEqual(['s1', 's2']); // not applied until commit()
    tx.commit();
    expect(store.states()).toEqual(tx.plan.desired);
    expect(counts(store.planSet(setOf([svc(2, '10.0.0.9'), svc(3)]), families).plan.changes)).toEqual([0, 0, 0, 2]);
  });

  it('plans a partial change (add, change, remove) from the touched services only', () => {
    const services = range(20).map((i) => svc(i));
    const store = appliedStore(services);
    const tx = store.planChange({ set: [svc(3, '10.0.0.7'), svc(40)], remove: [{ namespace: 'default', name: 's5' }] }, families);
    const c = tx.plan.changes;
    expect([c.added.map((x) => x.name), c.changed.map((x) => x.after.name), c.removed.map((x) => x.name), c.unchanged]).toEqual([['s40'], ['s3'], ['s5'], 18]);
    const want = services.filter((s) => s.name !== 's5' && s.name !== 's3').concat([svc(3, '10.0.0.7'), svc(40)]);
    expect(counts(fromScratch(want, tx.plan.actual))).toEqual(counts(c));
    expect([...tx.plan.desired].sort(byKey)).toEqual(flatten(want, { nodeName: 'n', families }).sort(byKey));
    tx.commit();
    expect([...store.states()].sort(byKey)).toEqual(flatten(want, { nodeName: 'n', families }).sort(byKey));
  });

  it('a dry run leaves the applied list as it was', () => {
    const store = appliedStore([svc(1), svc(2)]);
    const before = store.states();
    const tx = store.planChange({ set: [svc(1, '10.0.0.8')], remove: [{ namespace: 'default', name: 's2' }] }, families, { dryRun: true });
    expect(tx.plan.desired.map((x) => [x.name, x.internal[0]!.address])).toEqual([['s1', '10.0.0.8']]);
    expect(store.states()).toEqual(before);
  });

  it('folds updates into the last set: a full set after overrides finds nothing to do, a switch programs it', () => {
    const store = appliedStore(range(10).map((i) => svc(i)));
    store.planChange({ set: [svc(4, '10.0.0.4')], remove: [{ namespace: 'default', name: 's6' }] }, families).commit();
    store.planChange({ set: [svc(6, '10.0.0.6'), svc(11)] }, families).commit();
    store.planChange({ remove: [{ namespace: 'default', name: 's11' }] }, families).commit();
    const want = range(10).map((i) => (i === 4 ? svc(4, '10.0.0.4') : i === 6 ? svc(6, '10.0.0.6') : svc(i)));
    expect(counts(store.planSet(setOf(want), families).plan.changes)).toEqual([0, 0, 0, 10]);
    const target = store.switchTarget()([4]);
    expect([...target].sort(byKey)).toEqual(flatten(want, { nodeName: 'n', families: [4] }).sort(byKey));
    // a full set replaces the overrides
    store.planSet(setOf([svc(1)]), families).commit();
    expect(store.switchTarget()(families).map((x) => x.name)).toEqual(['s1']);
  });

  it('with no full set applied, a switch programs what the kernel holds, of the target families', () => {
    const store = new ServiceStore({ nodeName: 'n' });
    expect(store.hasSet).toBe(false);
    const held = flatten([svc(1), svc(2)], { nodeName: 'n', families: [4] });
    store.load(held);
    expect(store.switchTarget()([4])).toEqual(held);
    expect(store.switchTarget()([6])).toEqual([]);
  });

  it('abort() after a failed kernel call drops the applied list; the last set stays as it was', () => {
    const store = appliedStore([svc(1), svc(2)]);
    const tx = store.planChange({ set: [svc(3)] }, families);
    tx.abort();
    expect(store.loaded).toBe(false);
    expect(() => store.planChange({ set: [svc(4)] }, families)).toThrow(/not loaded/);
    expect(store.switchTarget()(families).map((x) => x.name)).toEqual(['s1', 's2']);
    store.load(flatten([svc(1)], { nodeName: 'n', families })); // re-read from the kernel
    expect(counts(store.planChange({ set: [svc(2)] }, families).plan.changes)).toEqual([1, 0, 0, 1]);
    const full = store.planSet(setOf([svc(9)]), families);
    full.abort();
    expect(store.loaded).toBe(false);
  });

  it('positions stay right after many splices (past compactions): each plan equals one from scratch', () => {
    const model = new Map(range(40).map((i) => [i, svc(i)]));
    const store = appliedStore([...model.values()]);
    for (let step = 0; step < 400; step++) {
      // mostly a few owners, touched again before a compaction renumbers slots (which rebuilds the index)
      const i = step % 3 === 0 ? (step * 7) % 60 : (step * 7) % 11;
      const remove = step % 5 === 4 && model.has(i);
      const change = remove ? { remove: [{ namespace: 'default', name: `s${i}` }] } : { set: [svc(i, `10.0.${step % 200}.${1 + (step % 7)}`, 1 + (step % 3))] };
      const tx = store.planChange(change, families);
      const actual = tx.plan.actual;
      if (remove) model.delete(i);
      else model.set(i, change.set![0]!);
      const scratch = fromScratch([...model.values()], actual);
      expect(counts(tx.plan.changes), `step ${step}`).toEqual(counts(scratch));
      expect(tx.plan.changes.changed.map((x) => x.after.key).sort(), `step ${step}`).toEqual(scratch.changed.map((x) => x.after.key).sort());
      tx.commit();
    }
    expect([...store.states()].sort(byKey)).toEqual(flatten([...model.values()], { nodeName: 'n', families }).sort(byKey));
  });
});
