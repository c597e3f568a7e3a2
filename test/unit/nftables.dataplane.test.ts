/**
 * The nftables dataplane's full, delta and read-back paths without root,
 * over the mechanism fake (fake/, held to the kernel by nft-mechanism.ts).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { FakeNftMechanism } from '../../src/dataplanes/nftables/fake/index.js';
import { createNftablesDataplane } from '../../src/dataplanes/nftables/index.js';
import type { Dataplane } from '../../src/dataplanes/types.js';
import { SvcproxyError } from '../../src/errors.js';
import { diff } from '../../src/plan/diff.js';
import type { Plan, ServicePortState } from '../../src/plan/types.js';
import { nftPorts } from '../support/nft-ports.js';
import { endpointList as eps, portState, type PortFields } from '../support/states.js';

const port = (o: PortFields): ServicePortState => portState(o, eps(3));
const sorted = (l: ServicePortState[]) => [...l].sort((a, b) => (a.key < b.key ? -1 : 1));
const plan = (desired: ServicePortState[], actual: ServicePortState[]): Plan => ({ desired: sorted(desired), actual, changes: diff(sorted(desired), actual) });

const initial = [
  ...nftPorts(),
  { ...port({ name: 'six', clusterIP: 'fd00::10', internal: [{ address: 'fd00::1:a', port: 8080 }] }), key: 'ns/six:/TCP@6', family: 6 as const },
];

describe('nftables dataplane over the mechanism fake', () => {
  let fake: FakeNftMechanism;
  let dp: Dataplane;
  let state: ServicePortState[];

  const sync = async (desired: ServicePortState[]) => {
    const p = plan(desired, state);
    const stats = await dp.apply(p);
    state = sorted(desired);
    expect(await dp.read()).toEqual(state);
    return stats;
  };
  const callsDuring = async (f: () => Promise<unknown>) => {
    const from = fake.calls.length;
    await f();
    return fake.calls.slice(from);
  };

  beforeEach(async () => {
    fake = new FakeNftMechanism();
    dp = createNftablesDataplane({ clusterCIDR: '10.244.0.0/16' }, { mechanism: fake });
    state = [];
    await sync(initial);
  });

  it('a full apply builds both families and reads back exactly the plan', async () => {
    expect(fake.snapshot()).toMatch(/"table":"ip svcproxy"/);
    expect(fake.snapshot()).toMatch(/"table":"ip6 svcproxy"/);
    // a fresh dataplane (a restart) reads the same from the kernel alone
    const again = createNftablesDataplane({}, { mechanism: fake });
    expect(await again.read()).toEqual(state);
  });

  it('one endpoint changed: one element batch, no command text, nothing listed', async () => {
    const three = [...eps(2), { address: '10.244.0.99', port: 8080 }];
    const moved = state.map((s) => (s.name === 'web' && s.protocol === 'TCP' ? { ...s, internal: three, external: three } : s));
    const calls = await callsDuring(async () => {
      const stats = await dp.apply(plan(moved, state));
      expect(stats.detail).toMatchObject({ full: 0, chains: 0 });
    });
    expect(calls.map((c) => c.kind)).toEqual(['elements']);
    state = sorted(moved);
    expect(await dp.read()).toEqual(state);
  });

  it('a port removed (affinity chains too) and one added: a delta, still exact', async () => {
    const stats = await sync([...state.filter((s) => s.name !== 'sticky' && s.name !== 'np'), port({ name: 'new', clusterIP: '10.96.0.20', nodePort: 30090 })]);
    expect(stats.detail).toMatchObject({ full: 0 });
    expect(fake.snapshot()).not.toMatch(/sticky/);
  });

  it('more endpoints than the shared pick chains: a full rebuild into the other table', async () => {
    const many = state.map((s) => (s.name === 'web' && s.protocol === 'TCP' ? { ...s, internal: eps(40, 100), external: eps(40, 100) } : s));
    expect((await sync(many)).detail).toMatchObject({ full: 1 });
    expect(fake.snapshot()).toMatch(/"table":"ip svcproxy-b"/);
    expect(fake.snapshot()).not.toMatch(/"table":"ip svcproxy"/);
  });

  it('a refused batch (duplicate frontend) leaves the fake unchanged and the dataplane in step', async () => {
    const snap = fake.snapshot();
    const clash = [...state, port({ name: 'clash', clusterIP: '10.96.0.10' })];
    const err = await dp.apply(plan(clash, state)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SvcproxyError);
    expect((err as SvcproxyError).code).toBe('EEXIST');
    expect((err as SvcproxyError).mode).toBe('nftables');
    expect(fake.snapshot()).toBe(snap);
    await sync(state.map((s) => (s.name === 'none' ? { ...s, internal: eps(1), external: eps(1), hasEndpoints: true } : s)));
  });

  it('drift (another dataplane swaps the table): read() sees it, and the next apply rebuilds instead of trusting memory', async () => {
    const other = createNftablesDataplane({}, { mechanism: fake });
    const theirs = state.filter((s) => s.name !== 'web');
    await other.apply(plan(theirs, await other.read()));
    const back = await dp.read();
    expect(back).toEqual(theirs);
    const stats = await dp.apply(plan(state, back));
    expect(stats.detail).toMatchObject({ full: 1 });
    expect(await dp.read()).toEqual(state);
    // in step again: the next change is a delta
    const moved = state.map((s) => (s.name === 'web' && s.protocol === 'TCP' ? { ...s, internal: eps(3, 40), external: eps(3, 40) } : s));
    expect(await sync(moved)).toMatchObject({ detail: { full: 0 } });
  });

  it('invalid input touches nothing; cleanup removes every svcproxy table', async () => {
    const snap = fake.snapshot();
    const bad = [...state, port({ name: 'evil', clusterIP: '10.96.0.99', internal: [{ address: '1.2.3.4; flush ruleset', port: 1 }] })];
    const calls = await callsDuring(() => dp.apply(plan(bad, state)).catch(() => undefined));
    expect(calls).toEqual([]);
    expect(fake.snapshot()).toBe(snap);
    await dp.cleanup();
    expect(fake.snapshot()).toBe('[]');
    expect(await dp.read()).toEqual([]);
  });
});
