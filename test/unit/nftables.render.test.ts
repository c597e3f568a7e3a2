/** Golden tests of the nftables text svcproxy sends (render = what apply sends). */
import { describe, expect, it } from 'vitest';
import { createNftablesDataplane } from '../../src/dataplanes/nftables/index.js';
import { parseName } from '../../src/dataplanes/nftables/names.js';
import { diff } from '../../src/plan/diff.js';
import type { Plan, ServicePortState } from '../../src/plan/types.js';
import { SvcproxyError } from '../../src/errors.js';

const eps = [
  { address: '10.244.0.10', port: 8080 },
  { address: '10.244.0.11', port: 8080 },
];
const port = (o: Partial<ServicePortState> & { name: string; clusterIP: string }): ServicePortState => ({
  key: `ns/${o.name}:${o.portName ?? ''}/${o.protocol ?? 'TCP'}@4`,
  namespace: 'ns',
  portName: '',
  protocol: 'TCP',
  family: 4,
  port: 80,
  nodePort: null,
  externalIPs: [],
  loadBalancerIPs: [],
  affinitySeconds: null,
  externalLocal: false,
  internal: eps,
  external: eps,
  hasEndpoints: true,
  ...o,
});
const plan = (desired: ServicePortState[], actual: ServicePortState[] = []): Plan => ({ desired, actual, changes: diff(desired, actual) });

describe('nftables render', () => {
  it('full load: base table, a cluster-IP service, a node port, and one without endpoints', () => {
    const dp = createNftablesDataplane({ clusterCIDR: '10.244.0.0/16' });
    const text = dp.render(
      plan([
        port({ name: 'web', clusterIP: '10.96.0.10' }),
        port({ name: 'np', clusterIP: '10.96.0.11', nodePort: 30080, externalIPs: ['192.0.2.7'] }),
        port({ name: 'none', clusterIP: '10.96.0.12', protocol: 'UDP', port: 53, internal: [], external: [], hasEndpoints: false }),
      ]),
    );
    expect(text).toBe(`add table ip svcproxy
delete table ip svcproxy
table ip svcproxy {
	map service-ips { type ipv4_addr . inet_proto . inet_service : verdict; }
	map service-nodeports { type inet_proto . inet_service : verdict; }
	set hairpin { type ipv4_addr . ipv4_addr; }
	chain services {
		ip daddr . meta l4proto . th dport vmap @service-ips
		fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports
	}
	chain nat-prerouting { type nat hook prerouting priority dstnat; policy accept; jump services; }
	chain nat-output { type nat hook output priority -100; policy accept; jump services; }
	chain nat-postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		meta mark and 0x2000 == 0x2000 meta mark set meta mark xor 0x2000 masquerade fully-random
		ct status dnat ip saddr . ip daddr @hairpin masquerade fully-random
	}
}
table ip svcproxy {
	chain svc-ns/web/tcp/ {
		ip saddr != 10.244.0.0/16 meta mark set meta mark or 0x2000
		numgen random mod 2 0 meta l4proto tcp dnat ip to 10.244.0.10:8080
		meta l4proto tcp dnat ip to 10.244.0.11:8080 comment "svcproxy has-endpoints"
	}
	chain svc-ns/np/tcp/ {
		ip saddr != 10.244.0.0/16 meta mark set meta mark or 0x2000
		numgen random mod 2 0 meta l4proto tcp dnat ip to 10.244.0.10:8080
		meta l4proto tcp dnat ip to 10.244.0.11:8080 comment "svcproxy has-endpoints"
	}
	chain ext-ns/np/tcp/ {
		meta mark set meta mark or 0x2000
		numgen random mod 2 0 meta l4proto tcp dnat ip to 10.244.0.10:8080
		meta l4proto tcp dnat ip to 10.244.0.11:8080 comment "svcproxy external"
	}
	chain svc-ns/none/udp/ {
		ip saddr != 10.244.0.0/16 meta mark set meta mark or 0x2000
		reject comment "svcproxy"
	}
}
add element ip svcproxy service-ips { 10.96.0.10 . tcp . 80 : goto svc-ns/web/tcp/, 10.96.0.11 . tcp . 80 : goto svc-ns/np/tcp/, 192.0.2.7 . tcp . 80 comment "external-ip" : goto ext-ns/np/tcp/, 10.96.0.12 . udp . 53 : goto svc-ns/none/udp/ }
add element ip svcproxy service-nodeports { tcp . 30080 : goto ext-ns/np/tcp/ }
add element ip svcproxy hairpin { 10.244.0.10 . 10.244.0.10, 10.244.0.11 . 10.244.0.11 }
`);
  });

  it('ClientIP affinity: a timeout set and an endpoint chain per endpoint; Local without local endpoints drops', () => {
    const dp = createNftablesDataplane({ masqueradeAll: true, masqueradeBit: 0x4000 });
    const text = dp.render(
      plan([
        port({ name: 'sticky', clusterIP: '10.96.0.20', affinitySeconds: 600, internal: eps.slice(0, 1), external: eps.slice(0, 1) }),
        port({ name: 'local', clusterIP: '10.96.0.21', nodePort: 30090, externalLocal: true, external: [] }),
      ]),
    );
    const objects = text.slice(text.indexOf('table ip svcproxy {\n\tset aff-'));
    expect(objects).toBe(`table ip svcproxy {
	set aff-ns/sticky/tcp//10.244.0.10/8080 { type ipv4_addr; flags dynamic,timeout; timeout 600s; }
	chain svc-ns/sticky/tcp/ {
		meta mark set meta mark or 0x4000
		ip saddr @aff-ns/sticky/tcp//10.244.0.10/8080 goto ep-ns/sticky/tcp//10.244.0.10/8080
		goto ep-ns/sticky/tcp//10.244.0.10/8080 comment "svcproxy affinity=600 has-endpoints"
	}
	chain ep-ns/sticky/tcp//10.244.0.10/8080 {
		update @aff-ns/sticky/tcp//10.244.0.10/8080 { ip saddr }
		meta l4proto tcp dnat ip to 10.244.0.10:8080
	}
	chain svc-ns/local/tcp/ {
		meta mark set meta mark or 0x4000
		numgen random mod 2 0 meta l4proto tcp dnat ip to 10.244.0.10:8080
		meta l4proto tcp dnat ip to 10.244.0.11:8080 comment "svcproxy external-local has-endpoints"
	}
	chain ext-ns/local/tcp/ {
		fib saddr type local meta mark set meta mark or 0x4000
		drop comment "svcproxy external"
	}
}
add element ip svcproxy service-ips { 10.96.0.20 . tcp . 80 : goto svc-ns/sticky/tcp/, 10.96.0.21 . tcp . 80 : goto svc-ns/local/tcp/ }
add element ip svcproxy service-nodeports { tcp . 30090 : goto ext-ns/local/tcp/ }
add element ip svcproxy hairpin { 10.244.0.10 . 10.244.0.10, 10.244.0.11 . 10.244.0.11 }
`);
  });

  it('names round-trip through parseName, IPv6 addresses included', () => {
    expect(parseName('ep-ns/web/udp/dns/fd00__1/53')).toEqual({
      kind: 'ep',
      id: { namespace: 'ns', name: 'web', protocol: 'UDP', portName: 'dns' },
      backend: { address: 'fd00::1', port: 53 },
    });
    expect(parseName('svc-ns/web/tcp/')?.id.portName).toBe('');
    expect(parseName('foreign-chain')).toBeUndefined();
  });

  it('refuses hostile names and bad addresses with the field named, before rendering anything', () => {
    const dp = createNftablesDataplane({});
    const bad = [
      port({ name: 'x"; flush ruleset; "', clusterIP: '10.96.0.1' }),
      port({ name: 'ok', clusterIP: '10.96.0.1', internal: [{ address: '10.0.0.1 } ; flush ruleset', port: 80 }] }),
      port({ name: 'ok', clusterIP: '::1' }),
    ];
    const fields = bad.map((s) => {
      try {
        dp.render(plan([s]));
        return 'rendered';
      } catch (e) {
        expect(e).toBeInstanceOf(SvcproxyError);
        expect((e as SvcproxyError).code).toBe('EINVAL');
        return (e as SvcproxyError).field;
      }
    });
    expect(fields[0]).toMatch(/\.name$/);
    expect(fields[1]).toMatch(/\.internal\[0\]\.address$/);
    expect(fields[2]).toMatch(/\.clusterIP$/);
    expect(() => createNftablesDataplane({ clusterCIDR: '10.0.0.0/8; flush ruleset' })).toThrow(/clusterCIDR/);
  });
});
