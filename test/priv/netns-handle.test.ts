/**
 * One namespace handle per ServiceProxy (issue 15 item 3): open() opens the
 * namespace once and every native call uses that fd. Delete the namespace's
 * name and create a new, empty namespace under it: the proxy keeps acting on
 * the ORIGINAL namespace (traffic through it reaches the backends, its rules
 * are there), the new one stays empty, and close() closes the fd.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open, type ServiceProxy } from '../../src/api/proxy.js';
import type { Mode } from '../../src/dataplanes/types.js';
import { parseServices } from '../../src/model/load.js';
import type { ServiceSet } from '../../src/model/types.js';
import { Topology } from '../../src/sandbox/topology.js';

const VIP1 = '10.96.7.10';
const VIP2 = '10.96.7.11';
const sh = (...argv: string[]) => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
const inNs = (ns: string, ...argv: string[]) => sh('ip', 'netns', 'exec', ns, ...argv);

/** This process's fds open on the namespace file `ns` (same st_dev and st_ino). */
function fdsOn(ns: { dev: number; ino: number }): number[] {
  const fds: number[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const st = statSync(`/proc/self/fd/${fd}`);
      if (st.dev === ns.dev && st.ino === ns.ino) fds.push(Number(fd));
    } catch {
      // closed while listing (readdir's own fd)
    }
  }
  return fds;
}

function services(t: Topology, vips: string[]): ServiceSet {
  const svc = (vip: string, i: number) => ({
    name: `web${i}`,
    clusterIP: vip,
    ports: [{ port: 80, targetPort: 8080 }],
    endpoints: [{ address: t.backends[i]!.addresses[0] }],
  });
  return parseServices(JSON.stringify({ services: vips.map(svc) }));
}

/** Every rule text the namespace holds, both mechanisms (iptables-nft shows in nft too). */
const rulesIn = (ns: string) => inNs(ns, 'nft', 'list', 'ruleset') + inNs(ns, 'iptables-save');

describe.each<Mode>(['nftables', 'iptables'])('namespace handle (%s, host kernel)', (mode) => {
  let t: Topology;
  let proxy: ServiceProxy | undefined;
  let kept: string;

  beforeAll(async () => {
    t = await Topology.create({ backends: 2 });
    // A reference to the original node namespace we own, to look into it after its name is reused.
    kept = `${t.node}-kept`;
  });
  afterAll(async () => {
    try {
      await proxy?.cleanup();
      await proxy?.close();
    } finally {
      try {
        execFileSync('ip', ['netns', 'del', kept], { stdio: 'ignore' });
      } catch {
        // never created (failed before) or already gone
      }
      await t?.destroy();
    }
  });

  it('acts on the namespace it opened after the name is recreated, and close() closes the fd', async () => {
    const original = statSync(`/run/netns/${t.node}`);
    expect(fdsOn(original)).toEqual([]);
    proxy = await open({ mode, netns: t.node });
    const handleFds = fdsOn(original);
    expect(handleFds).toHaveLength(1);
    await proxy.apply(services(t, [VIP1]));

    writeFileSync(`/run/netns/${kept}`, '');
    sh('mount', '--bind', `/run/netns/${t.node}`, `/run/netns/${kept}`);
    sh('ip', 'netns', 'del', t.node);
    sh('ip', 'netns', 'add', t.node);
    expect(statSync(`/run/netns/${t.node}`).ino).not.toBe(original.ino);
    expect(statSync(`/run/netns/${kept}`).ino).toBe(original.ino);

    // The next apply and read act on the original namespace...
    await proxy.apply(services(t, [VIP1, VIP2]));
    expect((await proxy.read()).map((s) => s.clusterIP).sort()).toEqual([VIP1, VIP2]);
    const kernel = rulesIn(kept);
    expect(kernel).toContain(VIP1);
    expect(kernel).toContain(VIP2);
    // ...where the client's link leads: real connections through both VIPs reach their backends.
    const attempts = await t.connect({ targets: [{ host: VIP1, port: 80 }, { host: VIP2, port: 80 }], count: 3 });
    expect(attempts.filter((a) => !a.ok)).toEqual([]);
    expect(attempts.filter((a) => a.host === VIP1).map((a) => a.backend)).toEqual(['b0', 'b0', 'b0']);
    expect(attempts.filter((a) => a.host === VIP2).map((a) => a.backend)).toEqual(['b1', 'b1', 'b1']);
    // ...never on the new namespace of the same name.
    const fresh = rulesIn(t.node);
    expect(fresh).not.toContain(VIP1);
    expect(fresh).not.toContain(VIP2);
    expect(inNs(t.node, 'nft', 'list', 'ruleset')).toBe('');

    // cleanup() too: the original empties, the new one is still untouched.
    await proxy.cleanup();
    expect(rulesIn(kept)).not.toContain(VIP1);
    expect(await proxy.read()).toEqual([]);

    const before = readdirSync('/proc/self/fd').length;
    await proxy.close();
    proxy = undefined;
    expect(fdsOn(original)).toEqual([]);
    expect(readdirSync('/proc/self/fd').length).toBeLessThan(before);
  });
});
