import { describe, expect, it } from 'vitest';
import { planForFamily } from '../../src/dataplanes/iptables/family.js';
import { parseSave } from '../../src/dataplanes/iptables/parse.js';
import { renderRestore, type KernelView } from '../../src/dataplanes/iptables/restore.js';
import { parseServices } from '../../src/model/load.js';
import { diff, flatten, type ServicePortState } from '../../src/plan/index.js';

const opts = { masqBit: 0x2000, clusterCIDR: '10.244.0.0/16' };
const states = (yaml: string) => flatten(parseServices(yaml).services, { nodeName: 'me', families: [4, 6] });
const plan = (desired: ServicePortState[], actual: ServicePortState[] = []) => ({ desired, actual, changes: diff(desired, actual) });
const empty = (): KernelView => ({ nat: new Set(), filter: new Set(), jumps: new Set() });

const dual = states(`
services:
  - name: web
    type: NodePort
    clusterIPs: [10.96.0.10, "fd00:96::10"]
    externalIPs: ["fd00:97::1"]
    sessionAffinity: ClientIP
    ports: [{ name: http, port: 80, targetPort: 8080, nodePort: 30080 }]
    endpoints: [{ address: 10.244.0.10 }, { address: "fd00:244::10" }, { address: "fd00:244::11" }]
  - name: dns6
    clusterIP: "fd00:96::53"
    ports: [{ port: 53, protocol: UDP, targetPort: 5353 }]
  - name: local6
    type: NodePort
    externalTrafficPolicy: Local
    clusterIP: "fd00:96::20"
    ports: [{ port: 80, targetPort: 8080, nodePort: 30081 }]
    endpoints: [{ address: "fd00:244::10", nodeName: me }, { address: "fd00:244::12", nodeName: other }]
`);

/** ip6tables-save prints what restore was given, less the -I jumps, with REJECT's default spelled out. */
function asSave6(restore: string): { nat: string; filter: string } {
  const [nat, filter] = restore.split('*filter');
  const fix = (s: string) =>
    s
      .split('\n')
      .map((l) => l.replace(/^-I /, '-A ').replace(/-j REJECT$/, '-j REJECT --reject-with icmp6-port-unreachable'))
      .join('\n');
  return { nat: fix(nat!), filter: fix(filter!) };
}

describe('ip6tables rendering (dual-stack)', () => {
  const v6 = planForFamily(plan(dual), 6);

  it('splits a dual-stack plan by family: a single-stack v6 service only in the v6 part', () => {
    const v4 = planForFamily(plan(dual), 4);
    expect(v4.desired.map((s) => s.key)).toEqual(['default/web:http/TCP@4']);
    expect(v6.desired.map((s) => s.key)).toEqual(['default/dns6:/UDP@6', 'default/local6:/TCP@6', 'default/web:http/TCP@6']);
    expect(v6.changes.added).toHaveLength(3);
    expect(v4.desired[0]!.internal).toEqual([{ address: '10.244.0.10', port: 8080 }]);
  });

  it('renders the IPv6 layout (golden): /128, [addr]:port DNAT, v6 affinity mask, no v4 clusterCIDR', async () => {
    const text = renderRestore(v6, empty(), opts).text;
    expect(text).not.toMatch(/\/32|10\.244\.0\.0\/16|255\.255/);
    expect(text).toContain('-j DNAT --to-destination [fd00:244::10]:8080');
    expect(text).toContain('--mask ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
    await expect(text).toMatchFileSnapshot('golden/ip6tables-full.txt');
  });

  it('parses its own IPv6 rules back to the same states', () => {
    const { nat, filter } = asSave6(renderRestore(v6, empty(), opts).text);
    expect(parseSave(nat, filter).states).toEqual(v6.desired);
  });

  it('refuses a v6 service without endpoints: TCP by reset, UDP by (icmp6) port-unreachable', () => {
    const text = renderRestore(v6, empty(), opts).text;
    expect(text).toMatch(/-A SVP-FILTER -d fd00:96::53\/128 -p udp .* -j REJECT$/m);
    const noEps = states(`services: [{ name: e, clusterIP: "fd00:96::30", ports: [{ port: 80 }] }]`);
    expect(renderRestore(planForFamily(plan(noEps), 6), empty(), opts).text).toMatch(/-d fd00:96::30\/128 -p tcp .* -j REJECT --reject-with tcp-reset$/m);
  });

  it('uses a v6 clusterCIDR for v6 service ports only', () => {
    const text = renderRestore(v6, empty(), { ...opts, clusterCIDR: 'fd00:244::/64' }).text;
    expect(text).toContain('! -s fd00:244::/64 -d fd00:96::10/128');
    const v4 = renderRestore(planForFamily(plan(dual), 4), empty(), { ...opts, clusterCIDR: 'fd00:244::/64' }).text;
    expect(v4).not.toContain('fd00:244::/64');
  });
});
