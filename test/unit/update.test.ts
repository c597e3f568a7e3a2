import { describe, expect, it } from 'vitest';
import { ServiceProxy } from '../../src/api/proxy.js';
import { FakeDataplane } from '../../src/dataplanes/fake/index.js';
import { parseServices } from '../../src/model/load.js';
import { SvcproxyError } from '../../src/errors.js';

const set = (n: number) =>
  parseServices(
    JSON.stringify({
      services: Array.from({ length: n }, (_, i) => ({ name: `s${i}`, clusterIP: `10.96.0.${i + 1}`, ports: [{ port: 80 }], endpoints: [{ address: '10.0.0.1' }] })),
    }),
  );

describe('ServiceProxy.update (partial changes)', () => {
  it('changes only the services it is given and keeps the rest as applied', async () => {
    const dp = new FakeDataplane();
    const p = new ServiceProxy(dp, { nodeName: 'n' });
    await p.apply(set(50));
    const changed = parseServices('services: [{name: s7, clusterIP: 10.96.0.8, ports: [{port: 80}], endpoints: [{address: 10.0.0.2}]}]').services;
    const r = await p.update({ set: changed, remove: [{ namespace: 'default', name: 's9' }] });
    expect(r.plan.changes.changed.map((c) => c.after.name)).toEqual(['s7']);
    expect(r.plan.changes.removed.map((s) => s.name)).toEqual(['s9']);
    expect(r.plan.changes.unchanged).toBe(48);
    const read = await dp.read();
    expect(read).toHaveLength(49);
    expect(read.find((s) => s.name === 's7')!.internal).toEqual([{ address: '10.0.0.2', port: 80 }]);
    // A full apply of the same state afterwards finds nothing to do.
    const full = set(50);
    full.services = full.services.filter((s) => s.name !== 's9').map((s) => (s.name === 's7' ? changed[0]! : s));
    const again = await p.diff(full);
    expect(again.added.length + again.changed.length + again.removed.length).toBe(0);
  });

  it('adds a new service', async () => {
    const p = new ServiceProxy(new FakeDataplane(), { nodeName: 'n' });
    await p.apply(set(3));
    const r = await p.update({ set: parseServices('services: [{name: extra, clusterIP: 10.96.1.1, ports: [{port: 80}]}]').services });
    expect(r.plan.changes.added.map((s) => s.name)).toEqual(['extra']);
    expect(r.plan.desired).toHaveLength(4);
  });

  it('in-place updates: each result keeps its own lists, and many of them (past compaction) stay exact', async () => {
    const dp = new FakeDataplane();
    const p = new ServiceProxy(dp, { nodeName: 'n' });
    await p.apply(set(50));
    const one = (name: string, ip: string, ep: string) =>
      parseServices(`services: [{name: ${name}, clusterIP: ${ip}, ports: [{port: 80}], endpoints: [{address: ${ep}}]}]`).services;
    const first = await p.update({ set: one('s7', '10.96.0.8', '10.0.0.2') });
    const second = await p.update({ set: one('s8', '10.96.0.9', '10.0.0.3') });
    const ep = (r: typeof first, name: string, from: 'desired' | 'actual') => r.plan[from].find((s) => s.name === name)!.internal[0]!.address;
    // the first result's lists are what they were then, read after the second update
    expect([ep(first, 's7', 'actual'), ep(first, 's7', 'desired'), ep(first, 's8', 'desired')]).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.1']);
    expect([ep(second, 's7', 'actual'), ep(second, 's8', 'actual'), ep(second, 's8', 'desired')]).toEqual(['10.0.0.2', '10.0.0.1', '10.0.0.3']);
    // a dry run changes nothing
    const dry = await p.update({ set: one('s9', '10.96.0.10', '10.0.0.9') }, { dryRun: true });
    expect(ep(dry, 's9', 'desired')).toBe('10.0.0.9');
    // 200 more (the log compacts every ~70): the proxy's list still matches the kernel's
    for (let i = 0; i < 200; i++) await p.update({ set: one(`s${i % 50}`, `10.96.0.${(i % 50) + 1}`, `10.0.1.${i % 250}`) });
    expect(await p.diff({ services: [], ignored: [] }).then((d) => d.removed.length)).toBe(50);
    const fromKernel = await dp.read();
    const full = await p.plan({ services: [], ignored: [] });
    expect([...full.actual].sort((a, b) => (a.key < b.key ? -1 : 1))).toEqual(fromKernel);
    expect(fromKernel.find((s) => s.name === 's49')!.internal[0]!.address).toBe('10.0.1.199');
  });

  it('adds, removes and changes port counts in place: the list stays exact through dry runs and compactions', async () => {
    const dp = new FakeDataplane();
    const p = new ServiceProxy(dp, { nodeName: 'n' });
    await p.apply(set(40));
    const svc = (i: number, ports: number, ep: string) =>
      parseServices(
        JSON.stringify({
          services: [{ name: `s${i}`, clusterIP: `10.96.${i >> 8}.${(i & 255) + 1}`, ports: Array.from({ length: ports }, (_, j) => ({ port: 80 + j, name: `p${j}` })), endpoints: [{ address: ep }] }],
        }),
      ).services;
    // the model: name -> [ports, endpoint]
    const want = new Map(Array.from({ length: 40 }, (_, i) => [`s${i}`, [1, '10.0.0.1'] as [number, string]]));
    for (let i = 0; i < 300; i++) {
      const k = (i * 7) % 60;
      const name = `s${k}`;
      if (i % 5 === 4 && want.has(name)) {
        const r = await p.update({ remove: [{ namespace: 'default', name }] });
        expect(r.plan.changes.removed.map((x) => x.name)).toEqual(Array(want.get(name)![0]).fill(name));
        want.delete(name);
      } else {
        const ports = 1 + (i % 3);
        const ep = `10.0.${i % 200}.${1 + (i % 7)}`;
        const dry = await p.update({ set: svc(k, ports, ep) }, { dryRun: true });
        expect(dry.plan.desired.filter((x) => x.name === name)).toHaveLength(ports);
        await p.update({ set: svc(k, ports, ep) });
        want.set(name, [ports, ep]);
      }
      // every 25 steps only: plan() builds the array, which compacts the log; in between it grows past settle()'s limit
      if (i % 25 === 0) await expect(p.plan({ services: [], ignored: [] }).then((x) => x.actual.length), `after step ${i}`).resolves.toBe([...want.values()].reduce((n, [ports]) => n + ports, 0));
    }
    const read = await dp.read();
    const actual = (await p.plan({ services: [], ignored: [] })).actual;
    const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : 1);
    expect([...actual].sort(byKey)).toEqual([...read].sort(byKey));
    const seen = new Map<string, [number, string]>();
    for (const x of read) seen.set(x.name, [(seen.get(x.name)?.[0] ?? 0) + 1, x.internal[0]!.address]);
    expect(seen).toEqual(want);
  });
  it('a failed kernel call drops the applied list: the next update is planned against a fresh read', async () => {
    const opts: { failNextApply?: SvcproxyError } = {};
    const dp = new FakeDataplane(opts);
    const p = new ServiceProxy(dp, { nodeName: 'n' });
    await p.apply(set(5));
    opts.failNextApply = new SvcproxyError('injected', { code: 'EIO', op: 'apply' });
    const s1 = parseServices('services: [{name: s1, clusterIP: 10.96.0.2, ports: [{port: 80}], endpoints: [{address: 10.0.0.5}]}]').services;
    await expect(p.update({ set: s1 })).rejects.toThrow('injected');
    // the proxy had written s1 into its list before the call; the kernel still holds the old s1
    let reads = 0;
    const read = dp.read.bind(dp);
    dp.read = async () => (reads++, read());
    const r = await p.update({ set: s1 });
    expect(reads).toBe(1);
    expect(r.plan.changes.changed.map((c) => c.after.name)).toEqual(['s1']);
    expect((await dp.read()).find((x) => x.name === 's1')!.internal).toEqual([{ address: '10.0.0.5', port: 80 }]);
  });
});
