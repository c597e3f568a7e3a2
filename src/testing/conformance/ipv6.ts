/**
 * Conformance cases for IPv6, with real IPv6 TCP and UDP through the VIPs
 * of a dual-stack Service (ipFamilies [IPv4, IPv6], one EndpointSlice per
 * addressType, as the API server and the EndpointSlice controller make
 * them), a single-stack IPv6 Service, and an IPv6 Service without
 * endpoints. A mode that claims ipv6 but whose target has no IPv6 fails here.
 */
import { expect, it } from 'vitest';
import { parseServices } from '../../model/load.js';
import type { ServiceSet } from '../../model/types.js';
import type { Attempt } from '../../sandbox/topology.js';
import { REFUSE_MS } from './reject.js';
import type { Features, Target, TargetIPv6 } from './target.js';

export const VIP6_DUAL = 'fd00:96::30';
export const VIP4_DUAL = '10.96.0.30';
export const VIP6_ONLY = 'fd00:96::31';
export const VIP6_EMPTY = 'fd00:96::32';
export const NODE_PORT6 = 30090;
const SEQUENTIAL = 20;

const landed = (a: Attempt[]) => [...new Set(a.filter((x) => x.ok).map((x) => x.backend!))].sort();
const failures = (a: Attempt[]) => a.filter((x) => !x.ok).map((x) => `${x.host}:${x.port}/${x.proto} ${x.error}`);
/** "[fd00::1]:8080" -> "fd00::1"; "10.0.0.1:80" -> "10.0.0.1" */
const addressOf = (hostPort?: string) => hostPort?.replace(/^\[(.*)\]:\d+$/, '$1').replace(/^([\d.]+):\d+$/, '$1');

function v6(t: Target): TargetIPv6 {
  if (!t.ipv6) throw new Error('this mode claims ipv6 but its target has no IPv6 addresses (topology without ipv6?)');
  return t.ipv6;
}

const slice = (name: string, addressType: 'IPv4' | 'IPv6', addresses: string[]) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name, namespace: 'conformance', labels: { 'kubernetes.io/service-name': name.replace(/-[^-]+$/, '') } },
  addressType,
  endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
  ports: [
    { name: 'http', port: 8080, protocol: 'TCP' },
    { name: 'dns', port: 8080, protocol: 'UDP' },
  ],
});

const service = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'conformance' },
  spec: {
    ports: [
      { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
      { name: 'dns', port: 53, targetPort: 8080, protocol: 'UDP' },
    ],
    ...spec,
  },
});

/** dual (v4+v6, NodePort), only6 (single-stack v6, b0 and b1), empty6 (v6, no endpoints) */
export function ipv6Set(t: Target): ServiceSet {
  const six = v6(t);
  const dualPorts = [
    { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', nodePort: NODE_PORT6 },
    { name: 'dns', port: 53, targetPort: 8080, protocol: 'UDP' },
  ];
  const items = [
    service('dual', { type: 'NodePort', ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'], clusterIPs: [VIP4_DUAL, VIP6_DUAL], ports: dualPorts }),
    slice('dual-v4', 'IPv4', t.backends.map((b) => b.address)),
    slice('dual-v6', 'IPv6', six.backends),
    service('only6', { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv6'], clusterIPs: [VIP6_ONLY] }),
    slice('only6-v6', 'IPv6', six.backends.slice(0, 2)),
    service('empty6', { ipFamilies: ['IPv6'], clusterIPs: [VIP6_EMPTY] }),
  ];
  return parseServices(JSON.stringify({ apiVersion: 'v1', kind: 'List', items }), 'ipv6.json');
}

export function describeIPv6Cases(target: () => Target, f: Features): void {
  if (!f.ipv6) return;
  const names = (t: Target, n = t.backends.length) => t.backends.slice(0, n).map((b) => b.name).sort();

  it('IPv6: the v6 ClusterIP of a dual-stack Service reaches every v6 endpoint over IPv6 TCP', async () => {
    const t = target();
    await t.proxy.apply(ipv6Set(t));
    const a = await t.connect([{ host: VIP6_DUAL, port: 80 }], 30);
    expect(failures(a)).toEqual([]);
    expect(landed(a)).toEqual(names(t));
    for (const x of a) expect(v6(t).backends).toContain(addressOf(x.local));
  });

  it('IPv6: the v4 ClusterIP of the same dual-stack Service still reaches the v4 endpoints', async () => {
    const t = target();
    await t.proxy.apply(ipv6Set(t));
    const a = await t.connect([{ host: VIP4_DUAL, port: 80 }], 30);
    expect(failures(a)).toEqual([]);
    expect(landed(a)).toEqual(names(t));
    for (const x of a) expect(t.backends.map((b) => b.address)).toContain(addressOf(x.local));
  });

  if (f.udp) {
    it('IPv6: UDP through the v6 ClusterIP reaches every v6 endpoint', async () => {
      const t = target();
      await t.proxy.apply(ipv6Set(t));
      const a = await t.connect([{ host: VIP6_DUAL, port: 53, proto: 'UDP' }], 30);
      expect(failures(a)).toEqual([]);
      expect(landed(a)).toEqual(names(t));
    });
  }

  if (f.nodePort) {
    it('IPv6: a node port on the node\'s v6 address, from the client', async () => {
      const t = target();
      await t.proxy.apply(ipv6Set(t));
      const a = await t.connect([{ host: v6(t).nodeIP, port: NODE_PORT6 }], 30);
      expect(failures(a)).toEqual([]);
      expect(landed(a)).toEqual(names(t));
      if (f.masquerade) for (const x of a) expect(addressOf(x.peer)).not.toBe(v6(t).clientIP);
    });
  }

  it('IPv6: a single-stack v6 Service reaches its v6 endpoints, and programs no IPv4 frontend', async () => {
    const t = target();
    const r = await t.proxy.apply(ipv6Set(t));
    const a = await t.connect([{ host: VIP6_ONLY, port: 80 }], 20);
    expect(failures(a)).toEqual([]);
    expect(landed(a)).toEqual(names(t, 2));
    const only6 = r.plan.desired.filter((s) => s.name === 'only6');
    expect(only6.map((s) => s.family)).toEqual([6, 6]);
    expect(await t.proxy.read()).toEqual(r.plan.desired);
    expect(r.plan.desired.filter((s) => s.name === 'dual').map((s) => s.key)).toEqual([
      'conformance/dual:dns/UDP@4',
      'conformance/dual:dns/UDP@6',
      'conformance/dual:http/TCP@4',
      'conformance/dual:http/TCP@6',
    ]);
  });

  if (f.refusesAtOnce) {
    it(`IPv6: each of ${SEQUENTIAL} TCP connects to a v6 Service without endpoints is refused in under ${REFUSE_MS} ms`, async () => {
      const t = target();
      await t.proxy.apply(ipv6Set(t));
      const a = await t.connect([{ host: VIP6_EMPTY, port: 80 }], SEQUENTIAL, 3000);
      expect(a.map((x) => `${x.error ?? 'connected'}${x.ms < REFUSE_MS ? '' : ` after ${Math.round(x.ms)} ms`}`)).toEqual(a.map(() => 'ECONNREFUSED'));
    });
  } else {
    it('IPv6: TCP to a v6 Service without endpoints is refused (ECONNREFUSED)', async () => {
      const t = target();
      await t.proxy.apply(ipv6Set(t));
      const a = await t.connect([{ host: VIP6_EMPTY, port: 80 }], 3, 3000);
      expect(a.map((x) => x.error)).toEqual(a.map(() => 'ECONNREFUSED'));
    });
  }

  if (f.udp) {
    it('IPv6: UDP to a v6 Service without endpoints gets port-unreachable (ECONNREFUSED)', async () => {
      const t = target();
      await t.proxy.apply(ipv6Set(t));
      // ICMPv6 errors are rate-limited per peer (net.ipv6.icmp.ratelimit, 1 s, a burst of 6, earlier
      // cases spend it): one exchange per token, spaced so every one is entitled to its port-unreachable
      const a: Attempt[] = [];
      for (let i = 0; i < 3; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 1100));
        a.push(...(await t.connect([{ host: VIP6_EMPTY, port: 53, proto: 'UDP' }], 1, 3000)));
      }
      expect(a.map((x) => x.error)).toEqual(['ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED']);
    });
  }
}
