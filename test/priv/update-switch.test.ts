/** A switch after partial updates programs the state as updated, not as first applied. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open, type ServiceProxy } from '../../src/api/proxy.js';
import { parseServices } from '../../src/model/load.js';
import { Topology } from '../../src/sandbox/topology.js';

describe('update() then switchMode()', () => {
  let t: Topology;
  let p: ServiceProxy;
  beforeAll(async () => {
    t = await Topology.create({ backends: 2 });
    p = await open({ mode: 'iptables', netns: t.node });
  });
  afterAll(async () => {
    await p?.cleanup().catch(() => {});
    await t?.destroy();
  });

  it('carries the updated services to the new mode, with real traffic', async () => {
    const yaml = (eps: string[]) => `services: [{name: a, clusterIP: 10.96.7.1, ports: [{port: 80, targetPort: 8080}], endpoints: [${eps.map((e) => `{address: ${e}}`).join(', ')}]},
                 {name: b, clusterIP: 10.96.7.2, ports: [{port: 80, targetPort: 8080}], endpoints: [{address: 10.244.0.10}]}]`;
    await p.apply(parseServices(yaml(['10.244.0.10', '10.244.0.11'])));
    const a = parseServices(yaml(['10.244.0.11'])).services.filter((s) => s.name === 'a');
    const r = await p.update({ set: a });
    expect(r.plan.changes.changed.map((c) => c.after.name)).toEqual(['a']);
    await p.switchMode('nftables');
    const read = await p.read();
    expect(read.map((s) => [s.name, s.internal.map((b) => b.address)])).toEqual([
      ['a', ['10.244.0.11']],
      ['b', ['10.244.0.10']],
    ]);
    const conns = await t.connect({ targets: [{ host: '10.96.7.1', port: 80 }], count: 10 });
    expect(new Set(conns.map((c) => c.backend))).toEqual(new Set(['b1']));
  });
});
