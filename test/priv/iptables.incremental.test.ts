/**
 * An update rewrites only the chains that changed: rule counters (which a
 * rewrite resets) survive in the chains of the untouched service.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open, type ServiceProxy } from '../../src/api/proxy.js';
import { parseServices } from '../../src/model/load.js';
import { Topology } from '../../src/sandbox/topology.js';

const set = (bEndpoints: number) =>
  parseServices(
    JSON.stringify({
      services: [
        { name: 'a', clusterIP: '10.96.1.1', ports: [{ port: 80, targetPort: 8080 }], endpoints: [{ address: '10.244.0.10' }, { address: '10.244.0.11' }] },
        {
          name: 'b',
          clusterIP: '10.96.1.2',
          ports: [{ port: 80, targetPort: 8080 }],
          endpoints: ['10.244.0.10', '10.244.0.11', '10.244.0.12'].slice(0, bEndpoints).map((address) => ({ address })),
        },
      ],
    }),
  );

describe('iptables incremental sync', () => {
  let t: Topology;
  let p: ServiceProxy;
  beforeAll(async () => {
    t = await Topology.create({ backends: 3 });
    p = await open({ mode: 'iptables', netns: t.node });
  });
  afterAll(async () => {
    await p?.cleanup().catch(() => {});
    await t?.destroy();
  });

  it('keeps the counters of an unchanged service and rewrites the changed one', async () => {
    await p.apply(set(3));
    const a = await t.connect({ targets: [{ host: '10.96.1.1', port: 80 }, { host: '10.96.1.2', port: 80 }], count: 5 });
    expect(a.every((x) => x.ok)).toBe(true);
    const counters = async (comment: string) => {
      const save = await t.exec(t.node, ['iptables-save', '-c', '-t', 'nat']);
      const chain = new RegExp(`--comment "svp default/${comment}:/TCP@4 cluster-ip".* -j (SVP-SVC-\\w+)`).exec(save)![1];
      const lines = save.split('\n').filter((l) => l.includes(`-A ${chain} `) && l.includes('-j SVP-SEP-'));
      return lines.reduce((n, l) => n + Number(/^\[(\d+):/.exec(l)![1]), 0);
    };
    expect(await counters('a')).toBeGreaterThan(0);
    expect(await counters('b')).toBeGreaterThan(0);
    const before = await counters('a');

    const r = await p.apply(set(2));
    expect(r.plan.changes.changed.map((c) => c.after.name)).toEqual(['b']);
    expect(r.rules).not.toContain('10.96.1.1');
    expect(await counters('a')).toBe(before);
    expect(await counters('b')).toBe(0);
  });
});
