/**
 * IPVS mode's sysctls on a kernel >= 5.9 (UML's 6.1): conn_reuse_mode keeps
 * the kernel's default (kubernetes #102122), the others are set, and only in
 * the namespace programmed.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open } from '../../src/api/proxy.js';
import { parseServices } from '../../src/model/load.js';
import { sh, shSync } from '../../src/sandbox/shell.js';

const ns = `svp-ipvss-${process.pid}`;
const vs = async (name: string) => (await sh(['ip', 'netns', 'exec', ns, 'cat', `/proc/sys/net/ipv4/vs/${name}`])).trim();

beforeAll(async () => {
  await sh(['ip', 'netns', 'add', ns]);
  await sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
});
afterAll(() => shSync(['ip', 'netns', 'del', ns]));

describe('ipvs sysctls (UML kernel)', () => {
  it('leaves conn_reuse_mode at the kernel default on >= 5.9 and sets conntrack, expire_nodest_conn, expire_quiescent_template', async () => {
    expect(readFileSync('/proc/sys/kernel/osrelease', 'utf8')).toMatch(/^(5\.(9|[1-9]\d)|[6-9]\.)/);
    const before = await vs('conn_reuse_mode');
    const proxy = await open({ mode: 'ipvs', netns: ns, nodeName: 'n', iptablesBackend: 'legacy' });
    try {
      await proxy.apply(parseServices('services:\n  - {name: web, namespace: s, clusterIP: 10.96.0.30, ports: [{port: 80}], endpoints: [{address: 10.244.0.1}]}\n', 's.yaml'));
      expect(await vs('conn_reuse_mode')).toBe(before);
      expect(before).toBe('1');
      for (const k of ['conntrack', 'expire_nodest_conn', 'expire_quiescent_template']) expect(await vs(k), k).toBe('1');
      await proxy.cleanup();
    } finally {
      await proxy.close();
    }
  });
});
