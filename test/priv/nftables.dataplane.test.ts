/**
 * nftables dataplane on the host kernel, in a fresh network namespace:
 * read-back, incremental sync that touches only what changed, atomic
 * failure, foreign tables untouched, cleanup. (Traffic: nftables.conformance.)
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNftablesDataplane } from '../../src/dataplanes/nftables/index.js';
import type { Dataplane } from '../../src/dataplanes/types.js';
import { SvcproxyError } from '../../src/errors.js';
import { diff } from '../../src/plan/diff.js';
import type { Plan, ServicePortState } from '../../src/plan/types.js';
import { endpointList, portState, type PortFields } from '../support/states.js';
import { nftPorts } from '../support/nft-ports.js';

const NS = `svp-nft-${process.pid}-${randomBytes(2).toString('hex')}`;
const nft = (...args: string[]) => execFileSync('ip', ['netns', 'exec', NS, 'nft', ...args], { encoding: 'utf8' });
const FOREIGN = 'table inet foreign {\n\tchain keep {\n\t\ttype filter hook input priority 0; policy accept;\n\t\ttcp dport 9999 accept\n\t}\n}\n';

const eps = endpointList;
const port = (o: PortFields): ServicePortState => portState(o, eps(3));
const initial = nftPorts();
const sorted = (l: ServicePortState[]) => [...l].sort((a, b) => (a.key < b.key ? -1 : 1));
const plan = (desired: ServicePortState[], actual: ServicePortState[]): Plan => ({ desired: sorted(desired), actual, changes: diff(sorted(desired), actual) });

const liveTable = () => (/^table ip svcproxy-b$/m.test(nft('list', 'tables')) ? 'svcproxy-b' : 'svcproxy');

/** rules per chain with their kernel handles: a rewritten chain gets new handles */
function rulesByChain(): Map<string, string> {
  const items = JSON.parse(nft('-j', '-a', 'list', 'table', 'ip', liveTable())).nftables as { rule?: { chain: string; handle: number; expr: unknown } }[];
  const m = new Map<string, string>();
  for (const i of items) if (i.rule) m.set(i.rule.chain, (m.get(i.rule.chain) ?? '') + JSON.stringify([i.rule.handle, i.rule.expr]));
  return m;
}


describe('nftables dataplane (host kernel, fresh netns)', () => {
  let dp: Dataplane;
  let state: ServicePortState[] = [];

  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', NS]);
    execFileSync('ip', ['netns', 'exec', NS, 'nft', '-f', '-'], { input: FOREIGN });
    dp = createNftablesDataplane({ netns: NS, clusterCIDR: '10.244.0.0/16' });
  });
  afterAll(async () => {
    try {
      await dp?.close();
    } finally {
      execFileSync('ip', ['netns', 'del', NS]);
    }
  });

  const sync = async (desired: ServicePortState[]) => {
    const p = plan(desired, state);
    const text = dp.render(p);
    const stats = await dp.apply(p);
    state = sorted(desired);
    const back = await dp.read();
    expect(back).toEqual(state);
    expect(diff(state, back)).toMatchObject({ added: [], removed: [], changed: [] });
    return { text, stats };
  };

  it('detect: usable, with libnftables and kernel versions', async () => {
    const cap = await dp.detect();
    expect(cap.usable).toBe(true);
    expect(cap.versions.libnftables).toMatch(/^\d+\.\d+/);
    expect(cap.versions.kernel).toMatch(/^\d+\.\d+/);
  });

  it('applies every kind of service port and reads back exactly that', async () => {
    const { stats } = await sync(initial);
    expect(stats.written).toBe(initial.length);
    expect(nft('list', 'set', 'ip', 'svcproxy', 'service-meta')).toContain(`comment "port=${'p'.repeat(15)} affinity=86400 has-endpoints nodeport=30084 external=internal"`);
    expect(nft('list', 'table', 'inet', 'foreign')).toContain('tcp dport 9999 accept');
  });

  it('endpoints changed: only map elements change, no chain is touched, nothing is listed', async () => {
    const before = rulesByChain();
    // same endpoint count (3), then 1 endpoint (another shared pick chain, built with the table): only elements
    const moved = state.map((s) => (s.name === 'web' && s.protocol === 'TCP' ? { ...s, internal: eps(3, 20), external: eps(3, 20) } : s));
    const first = await sync(moved);
    expect(first.text).not.toMatch(/^(list|add chain|add rule|flush|delete chain)/m);
    expect(first.text).toMatch(/^delete element ip svcproxy endpoints \{ 10\.96\.0\.10 \. tcp \. 80 \. 0, /m);
    expect(first.stats.detail).toMatchObject({ full: 0, chains: 0 });
    expect(rulesByChain()).toEqual(before);
    const fewer = state.map((s) => (s.name === 'web' && s.protocol === 'TCP' ? { ...s, internal: eps(1, 20), external: eps(1, 20) } : s));
    const second = await sync(fewer);
    expect(second.text).not.toMatch(/^(list|add chain|add rule|flush|delete chain)/m);
    expect(second.text).toMatch(/^add element ip svcproxy service-ips \{ 10\.96\.0\.10 \. tcp \. 80 comment "ns\/web port= [^"]*" : goto cluster-1 \}/m);
    expect(rulesByChain()).toEqual(before);
  });

  it('an endpoint count change within its size class (4 -> 3) writes slot elements only, not the verdict', async () => {
    const four = state.map((s) => (s.name === 'web' && s.protocol === 'TCP' ? { ...s, internal: eps(4, 30), external: eps(4, 30) } : s));
    expect((await sync(four)).text).toMatch(/^add element ip svcproxy service-ips \{ 10\.96\.0\.10 \. tcp \. 80 comment "[^"]*" : goto cluster-4 \}/m);
    const three = state.map((s) => (s.name === 'web' && s.protocol === 'TCP' ? { ...s, internal: eps(3, 30), external: eps(3, 30) } : s));
    const { text } = await sync(three);
    // a changed goto would make the kernel validate every jump of the table at commit
    expect(text).not.toMatch(/service-ips/);
    expect(text).toMatch(/^delete element ip svcproxy endpoints \{ 10\.96\.0\.10 \. tcp \. 80 \. 3 \}/m);
    expect(nft('list', 'chain', 'ip', liveTable(), 'cluster-4-draw')).toContain('numgen random mod 4 map @endpoints');
  });

  it('a count flapping across a power of two changes the verdict once (the class stays while n is in [C/2, C])', async () => {
    const web = (n: number) => state.map((s) => (s.name === 'web' && s.protocol === 'TCP' ? { ...s, internal: eps(n, 30), external: eps(n, 30) } : s));
    const verdict = (text: string) => /^add element ip svcproxy service-ips \{ 10\.96\.0\.10 \. tcp \. 80 comment "[^"]*" : goto (\S+) \}/m.exec(text)?.[1];
    await sync(web(4));
    expect(verdict((await sync(web(5))).text)).toBe('cluster-8');
    for (const n of [4, 5, 4]) expect((await sync(web(n))).text).not.toMatch(/service-ips/);
    // below half the class: the tight class again
    expect(verdict((await sync(web(3))).text)).toBe('cluster-4');
    expect(verdict((await sync(web(1))).text)).toBe('cluster-1');
  });

  it('more endpoints than the shared pick chains were built for: a full rebuild into the other table, exact', async () => {
    const many = state.map((s) => (s.name === 'web' && s.protocol === 'TCP' ? { ...s, internal: eps(40, 100), external: eps(40, 100) } : s));
    const { stats } = await sync(many);
    expect(stats.detail).toMatchObject({ full: 1 });
    expect(nft('list', 'tables')).toMatch(/^table ip svcproxy-b$/m);
    expect(nft('list', 'tables')).not.toMatch(/^table ip svcproxy$/m);
    // 40 endpoints: size class 64
    expect(nft('list', 'chain', 'ip', 'svcproxy-b', 'cluster-64-draw')).toContain('numgen random mod 64 map @endpoints');
  });

  it('affinity timeout changed, endpoints moved, a port removed: still exact', async () => {
    await sync(state.map((s) => (s.name === 'sticky' ? { ...s, affinitySeconds: 30, internal: eps(2, 14), external: eps(2, 14) } : s)));
    await sync(state.filter((s) => s.name !== 'np'));
    await sync([...state, port({ name: 'np', clusterIP: '10.96.0.11', externalIPs: ['192.0.2.8'] })]);
  });

  it('the first IPv6 port builds table ip6 svcproxy; IPv6 ports read back exactly', async () => {
    const v6eps = [{ address: 'fd00::1:a', port: 8080 }, { address: 'fd00::1:b', port: 8080 }];
    const v6 = port({ name: 'six', clusterIP: 'fd00::10', nodePort: 30090, loadBalancerIPs: ['2001:db8::7'], internal: v6eps, external: v6eps.slice(1) });
    const { stats } = await sync([...state, { ...v6, key: 'ns/six:/TCP@6', family: 6 }]);
    expect(stats.detail).toMatchObject({ full: 1 });
    expect(nft('list', 'tables')).toMatch(/^table ip6 svcproxy/m);
    await sync(state.map((s) => (s.family === 6 ? { ...s, internal: v6eps.slice(0, 1), external: v6eps.slice(0, 1) } : s)));
  });

  it('invalid input: a clear error naming the field, ruleset byte-identical', async () => {
    const snap = nft('list', 'ruleset');
    const bad = [...state, port({ name: 'evil', clusterIP: '10.96.0.99', internal: [{ address: '1.2.3.4; flush ruleset', port: 1 }] })];
    const err = await dp.apply(plan(bad, state)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SvcproxyError);
    expect((err as SvcproxyError).code).toBe('EINVAL');
    expect((err as SvcproxyError).field).toMatch(/internal\[0\]\.address/);
    expect(nft('list', 'ruleset')).toBe(snap);
  });

  it('kernel refusal (duplicate frontend) rolls back the whole transaction, with the errno', async () => {
    const snap = nft('list', 'ruleset');
    const clash = [...state, port({ name: 'clash', clusterIP: '10.96.0.10' })]; // same VIP:port/TCP as web
    const err = await dp.apply(plan(clash, state)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SvcproxyError);
    expect((err as SvcproxyError).code).toBe('EEXIST');
    expect((err as SvcproxyError).mode).toBe('nftables');
    expect((err as Error).message).toMatch(/File exists \(add element\(s\) .* of set service-ips\)/);
    expect(nft('list', 'ruleset')).toBe(snap);
    // and the dataplane still syncs from what it really programmed
    await sync(state.map((s) => (s.name === 'none' ? { ...s, internal: eps(1), external: eps(1), hasEndpoints: true } : s)));
  });

  it('a fresh dataplane (restart) reads the kernel back exactly', async () => {
    const again = createNftablesDataplane({ netns: NS, clusterCIDR: '10.244.0.0/16' });
    try {
      expect(await again.read()).toEqual(state);
    } finally {
      await again.close();
    }
  });

  it('cleanup removes svcproxy tables only; the foreign table survives', async () => {
    await dp.cleanup();
    expect(nft('list', 'tables')).not.toMatch(/svcproxy/);
    expect(nft('list', 'table', 'inet', 'foreign')).toContain('tcp dport 9999 accept');
    expect(await dp.read()).toEqual([]);
    await dp.cleanup(); // idempotent
  });
});
