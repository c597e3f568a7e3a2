/**
 * A process that dies between two steps of an IPVS sync: the next process
 * must find every virtual server the dead one made and converge, leaking
 * none. Here the death is placed exactly (the first kernel batch of a sync
 * throws, as if the process ended there); crash.test.ts kills at random.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIpvsDataplane } from '../../src/dataplanes/ipvs/index.js';
import { parseServices } from '../../src/model/load.js';
import { diff } from '../../src/plan/diff.js';
import { flatten } from '../../src/plan/flatten.js';
import type { ServicePortState } from '../../src/plan/types.js';
import { sh, shSync } from '../../src/sandbox/shell.js';

const ns = `svp-ipvsr-${process.pid}`;
const states = (externalIP: string) =>
  flatten(
    parseServices(
      `services:
  - {name: web, namespace: r, clusterIP: 10.96.0.20, externalIPs: [${externalIP}], ports: [{port: 80}], endpoints: [{address: 10.244.0.1}]}`,
      'recovery.yaml',
    ).services,
    { families: [4] },
  );
const plan = (desired: ServicePortState[], actual: ServicePortState[]) => ({ desired, actual, changes: diff(desired, actual) });
const virtualServers = async () =>
  (await sh(['ip', 'netns', 'exec', ns, 'ipvsadm', '-Ln']))
    .split('\n')
    .filter((l) => /^TCP /.test(l))
    .map((l) => l.split(/\s+/)[1])
    .sort();

beforeAll(async () => {
  await sh(['ip', 'netns', 'add', ns]);
  await sh(['ip', '-n', ns, 'link', 'add', 'eth0', 'type', 'dummy']);
  await sh(['ip', '-n', ns, 'addr', 'add', '10.244.0.254/16', 'dev', 'eth0']);
  await sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
});
afterAll(() => shSync(['ip', 'netns', 'del', ns]));

describe('ipvs mode after a process died mid-sync', () => {
  for (const dieAt of [1, 2]) {
    it(`an external IP that moved, death at kernel batch ${dieAt}: the old virtual server is still owned, and removed by the next process`, async () => {
      const first = createIpvsDataplane({ netns: ns, iptablesBackend: 'legacy' });
      const before = states('192.0.2.1');
      await first.apply(plan(before, []));
      expect(await virtualServers()).toEqual(['10.96.0.20:80', '192.0.2.1:80']);
      // the frontend moves; the process dies at that batch (earlier ones go through)
      const client = (first as unknown as { ipvs: { apply: (...a: unknown[]) => Promise<number> } }).ipvs;
      const real = client.apply.bind(client);
      let calls = 0;
      client.apply = (...a) => (++calls === dieAt ? Promise.reject(new Error('killed')) : real(...a));
      const after = states('192.0.2.2');
      await expect(first.apply(plan(after, before))).rejects.toThrow('killed');
      await first.close();

      const next = createIpvsDataplane({ netns: ns, iptablesBackend: 'legacy' });
      const found = await next.read();
      await next.apply(plan(after, found));
      expect(await virtualServers()).toEqual(['10.96.0.20:80', '192.0.2.2:80']);
      expect(await next.read()).toEqual(after);
      await next.cleanup();
      expect(await virtualServers()).toEqual([]);
    });
  }
});
