/**
 * Interop with ipvsadm: what svcproxy programs reads correctly in
 * `ipvsadm -Ln`, and virtual servers made with ipvsadm survive svcproxy's
 * apply and cleanup untouched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIpvsDataplane } from '../../src/dataplanes/ipvs/index.js';
import { parseServices } from '../../src/model/load.js';
import { diff } from '../../src/plan/diff.js';
import { flatten } from '../../src/plan/flatten.js';
import type { ServicePortState } from '../../src/plan/types.js';
import { sh, shSync } from '../../src/sandbox/shell.js';

const ns = `svp-ipvsi-${process.pid}`;
const ipvsadm = (...a: string[]) => sh(['ip', 'netns', 'exec', ns, 'ipvsadm', ...a]);
const states = (text: string) => flatten(parseServices(text, 'interop.yaml').services, { families: [4] });
const plan = (desired: ServicePortState[], actual: ServicePortState[]) => ({ desired, actual, changes: diff(desired, actual) });

beforeAll(async () => {
  await sh(['ip', 'netns', 'add', ns]);
  await sh(['ip', '-n', ns, 'link', 'add', 'eth0', 'type', 'dummy']);
  await sh(['ip', '-n', ns, 'addr', 'add', '10.244.0.254/16', 'dev', 'eth0']);
  await sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
  await ipvsadm('-A', '-t', '10.99.0.1:9999', '-s', 'wrr');
  await ipvsadm('-a', '-t', '10.99.0.1:9999', '-r', '10.244.0.9:80', '-m', '-w', '5');
  await ipvsadm('-A', '-u', '10.96.0.10:54', '-s', 'sh');
});
afterAll(() => shSync(['ip', 'netns', 'del', ns]));

describe('ipvs mode and ipvsadm', () => {
  const dp = createIpvsDataplane({ netns: ns, iptablesBackend: 'legacy', scheduler: 'wlc' } as never);
  const foreign = async () => {
    const l = await ipvsadm('-Ln');
    return /TCP {2}10\.99\.0\.1:9999 wrr\n +-> 10\.244\.0\.9:80 +Masq +5 /.test(l) && /UDP {2}10\.96\.0\.10:54 sh/.test(l);
  };

  it('programs what ipvsadm lists: scheduler, persistence, destinations, weights, Masq', async () => {
    const want = states(`services:
  - {name: web, namespace: i, clusterIP: 10.96.0.10, ports: [{port: 80, targetPort: 8080}], sessionAffinity: ClientIP, sessionAffinityTimeoutSeconds: 300,
     endpoints: [{address: 10.244.0.1}, {address: 10.244.0.2}]}
  - {name: dns, namespace: i, clusterIP: 10.96.0.10, ports: [{port: 53, protocol: UDP, targetPort: 5353}], endpoints: [{address: 10.244.0.3}]}`);
    await dp.apply(plan(want, []));
    const l = await ipvsadm('-Ln');
    expect(l).toMatch(/TCP {2}10\.96\.0\.10:80 wlc persistent 300\n +-> 10\.244\.0\.1:8080 +Masq +1 +0 +0 *\n +-> 10\.244\.0\.2:8080 +Masq +1 /);
    expect(l).toMatch(/UDP {2}10\.96\.0\.10:53 wlc\n +-> 10\.244\.0\.3:5353 +Masq +1 /);
    expect(await foreign()).toBe(true);
    expect(await dp.read()).toEqual(want);
    // The VIP is a local route on svcproxy0 (one for both ports), and the kernel routes it locally.
    expect((await sh(['ip', '-n', ns, '-o', 'route', 'show', 'table', 'local', 'dev', 'svcproxy0'])).trim()).toMatch(/^local 10\.96\.0\.10 (dev svcproxy0 )?proto 165 scope host$/);
    expect(await sh(['ip', '-n', ns, 'route', 'get', '10.96.0.10'])).toMatch(/^local 10\.96\.0\.10 /);
  });

  it('cleanup removes its services and leaves the ipvsadm ones', async () => {
    await dp.cleanup();
    const l = await ipvsadm('-Ln');
    expect(l).not.toMatch(/10\.96\.0\.10:80|10\.96\.0\.10:53/);
    expect(await foreign()).toBe(true);
    expect(await dp.read()).toEqual([]);
  });
});
