/**
 * The automatic iptables flavour on the host kernel, each case in its own closed
 * namespace: with no rule in either flavour, legacy with a note (and the rules
 * land there); a foreign rule in iptables-nft keeps iptables-wrapper's choice.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { open, type ServiceProxy } from '../../src/api/proxy.js';
import { parseServices } from '../../src/model/load.js';
import { EMPTY_NAMESPACE_NOTE } from '../../src/dataplanes/netfilter/runner.js';
import { Topology } from '../../src/sandbox/topology.js';

const web = (t: Topology) =>
  parseServices(JSON.stringify({ services: [{ name: 'web', clusterIP: '10.96.3.1', ports: [{ port: 80, targetPort: 8080 }], endpoints: t.backends.map((b) => ({ address: b.addresses[0]! })) }] }));

describe('iptables mode, --iptables auto', () => {
  let t: Topology | undefined;
  let p: ServiceProxy | undefined;
  afterEach(async () => {
    await p?.cleanup().catch(() => {});
    await p?.close().catch(() => {});
    await t?.destroy();
    p = t = undefined;
  });

  it('chooses legacy with a one-line note on a namespace with no rules, and writes there', async () => {
    t = await Topology.create({ backends: 2 });
    p = await open({ mode: 'iptables', netns: t.node });
    const cap = await p.detect();
    expect(cap.notes).toContain('iptables-legacy');
    expect(cap.notes).toContain(EMPTY_NAMESPACE_NOTE);
    await p.apply(web(t));
    expect(await t.exec(t.node, ['iptables-legacy-save', '-t', 'nat'])).toMatch(/^:SVP-SERVICES /m);
    expect(await t.exec(t.node, ['iptables-nft-save', '-t', 'nat'])).not.toMatch(/SVP-/);
    const a = await t.connect({ targets: [{ host: '10.96.3.1', port: 80 }], count: 6 });
    expect(a.filter((x) => !x.ok)).toEqual([]);
    expect(new Set(a.map((x) => x.backend))).toEqual(new Set(t.backends.map((b) => b.name)));
  });

  it('keeps nft when iptables-nft already holds a rule', async () => {
    t = await Topology.create({ backends: 2 });
    await t.exec(t.node, ['iptables-nft', '-t', 'filter', '-A', 'INPUT', '-s', '192.0.2.1', '-j', 'ACCEPT']);
    p = await open({ mode: 'iptables', netns: t.node });
    const cap = await p.detect();
    expect(cap.notes).toContain('iptables-nft');
    expect(cap.notes).not.toContain(EMPTY_NAMESPACE_NOTE);
    await p.apply(web(t));
    expect(await t.exec(t.node, ['iptables-nft-save', '-t', 'nat'])).toMatch(/^:SVP-SERVICES /m);
    expect(await t.exec(t.node, ['iptables-nft-save', '-t', 'filter'])).toMatch(/-A INPUT -s 192\.0\.2\.1\/32 -j ACCEPT/);
  });
});
