/** Golden tests of the nftables text svcproxy sends (render = what apply sends). */
import { describe, expect, it } from 'vitest';
import { createNftablesDataplane } from '../../src/dataplanes/nftables/index.js';
import { parseName } from '../../src/dataplanes/nftables/names.js';
import { diff } from '../../src/plan/diff.js';
import type { Plan, ServicePortState } from '../../src/plan/types.js';
import { SvcproxyError } from '../../src/errors.js';
import { endpointList, portState, type PortFields } from '../support/states.js';

const eps = endpointList(2);
const port = (o: PortFields): ServicePortState => portState(o, eps);
/** the golden texts keep the shared pick chains of classes 1 and 2 (classes 1..16 of each kind are built) */
const withoutLargerPicks = (t: string) => t.replace(/\tchain (cluster|external|external-local|nodeport|nodeport-local)-([3-9]|[1-9]\d+)(-draw)? \{\n(\t\t.*\n)*\t\}\n/g, '');
/** a class-2 pick chain's 16 draws (PICK_DRAWS) */
const jumps = (kind: string) => `\t\tjump ${kind}-2-draw\n`.repeat(16);
const plan = (desired: ServicePortState[], actual: ServicePortState[] = []): Plan => ({ desired, actual, changes: diff(desired, actual) });

describe('nftables render', () => {
  it('full load: build the table without hooks, fill it in one element batch, hook it in; no chain per service', () => {
    const dp = createNftablesDataplane({ clusterCIDR: '10.244.0.0/16' });
    const text = dp.render(
      plan([
        port({ name: 'web', clusterIP: '10.96.0.10' }),
        port({ name: 'np', clusterIP: '10.96.0.11', nodePort: 30080, externalIPs: ['192.0.2.7'] }),
        port({ name: 'none', clusterIP: '10.96.0.12', protocol: 'UDP', port: 53, internal: [], external: [], hasEndpoints: false }),
      ]),
    );
    // size classes 1 2 4 8 16 of each kind, named by class
    expect(text.match(/^\tchain (cluster|external|external-local|nodeport|nodeport-local)-\d+ \{$/gm)).toHaveLength(5 * 5);
    // each class above 1 has its draw chain
    expect(text.match(/^\tchain (cluster|external|external-local|nodeport|nodeport-local)-\d+-draw \{$/gm)).toHaveLength(5 * 4);
    expect(text).toContain('\tchain cluster-16 {');
    expect(text).not.toContain('\tchain cluster-3 {');
    expect(withoutLargerPicks(text)).toBe(`add table ip svcproxy
delete table ip svcproxy
table ip svcproxy {
	map service-ips { type ipv4_addr . inet_proto . inet_service : verdict; size 65536; }
	map service-nodeports { type inet_proto . inet_service : verdict; size 65536; }
	map endpoints { typeof ip daddr . meta l4proto . th dport . numgen random mod 1 : ip daddr . tcp dport; size 65536; }
	map nodeport-endpoints { typeof meta l4proto . th dport . numgen random mod 1 : ip daddr . tcp dport; size 65536; }
	set service-meta { type ipv4_addr . inet_proto . inet_service; size 65536; }
	set hairpin { type ipv4_addr . ipv4_addr; size 65536; }
	chain services {
		ip daddr . meta l4proto . th dport vmap @service-ips
		fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports
	}
	chain no-endpoints {
		meta l4proto tcp reject with tcp reset
		reject
	}
	chain cluster-1 {
		ip saddr != 10.244.0.0/16 meta mark set meta mark or 0x2000
		dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 1 map @endpoints
	}
	chain cluster-2-draw {
		dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 2 map @endpoints
	}
	chain cluster-2 {
		ip saddr != 10.244.0.0/16 meta mark set meta mark or 0x2000
${jumps('cluster')}		dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 1 map @endpoints
	}
	chain external-1 {
		meta mark set meta mark or 0x2000
		dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 1 map @endpoints
	}
	chain external-2-draw {
		dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 2 map @endpoints
	}
	chain external-2 {
		meta mark set meta mark or 0x2000
${jumps('external')}		dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 1 map @endpoints
	}
	chain external-local-1 {
		fib saddr type local meta mark set meta mark or 0x2000
		dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 1 map @endpoints
	}
	chain external-local-2-draw {
		dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 2 map @endpoints
	}
	chain external-local-2 {
		fib saddr type local meta mark set meta mark or 0x2000
${jumps('external-local')}		dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 1 map @endpoints
	}
	chain nodeport-1 {
		meta mark set meta mark or 0x2000
		dnat ip to meta l4proto . th dport . numgen random mod 1 map @nodeport-endpoints
	}
	chain nodeport-2-draw {
		dnat ip to meta l4proto . th dport . numgen random mod 2 map @nodeport-endpoints
	}
	chain nodeport-2 {
		meta mark set meta mark or 0x2000
${jumps('nodeport')}		dnat ip to meta l4proto . th dport . numgen random mod 1 map @nodeport-endpoints
	}
	chain nodeport-local-1 {
		fib saddr type local meta mark set meta mark or 0x2000
		dnat ip to meta l4proto . th dport . numgen random mod 1 map @nodeport-endpoints
	}
	chain nodeport-local-2-draw {
		dnat ip to meta l4proto . th dport . numgen random mod 2 map @nodeport-endpoints
	}
	chain nodeport-local-2 {
		fib saddr type local meta mark set meta mark or 0x2000
${jumps('nodeport-local')}		dnat ip to meta l4proto . th dport . numgen random mod 1 map @nodeport-endpoints
	}
}
# elements: one netlink batch
add element ip svcproxy service-ips { 10.96.0.10 . tcp . 80 comment "ns/web port= has-endpoints external=internal" : goto cluster-2, 10.96.0.11 . tcp . 80 comment "ns/np port= has-endpoints nodeport=30080 external=internal" : goto cluster-2, 192.0.2.7 . tcp . 80 comment "external-ip 10.96.0.11" : goto external-2, 10.96.0.12 . udp . 53 comment "ns/none port= external=internal" : goto no-endpoints }
add element ip svcproxy endpoints { 10.96.0.10 . tcp . 80 . 0 : 10.244.0.10 . 8080, 10.96.0.10 . tcp . 80 . 1 : 10.244.0.11 . 8080, 10.96.0.11 . tcp . 80 . 0 : 10.244.0.10 . 8080, 10.96.0.11 . tcp . 80 . 1 : 10.244.0.11 . 8080, 192.0.2.7 . tcp . 80 . 0 : 10.244.0.10 . 8080, 192.0.2.7 . tcp . 80 . 1 : 10.244.0.11 . 8080 }
add element ip svcproxy service-nodeports { tcp . 30080 : goto nodeport-2 }
add element ip svcproxy nodeport-endpoints { tcp . 30080 . 0 : 10.244.0.10 . 8080, tcp . 30080 . 1 : 10.244.0.11 . 8080 }
add element ip svcproxy hairpin { 10.244.0.10 . 10.244.0.10, 10.244.0.11 . 10.244.0.11 }
table ip svcproxy {
	chain nat-prerouting { type nat hook prerouting priority dstnat; policy accept; jump services; }
	chain nat-output { type nat hook output priority -100; policy accept; jump services; }
	chain nat-postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		meta mark and 0x2000 == 0x2000 meta mark set meta mark xor 0x2000 masquerade fully-random
		ct status dnat ip saddr . ip daddr @hairpin masquerade fully-random
	}
}
`);
  });

  it('ClientIP affinity: its own chains, a timeout set per endpoint; Local without local endpoints drops as a map verdict', () => {
    const dp = createNftablesDataplane({ masqueradeAll: true, masqueradeBit: 0x4000 });
    const text = dp.render(
      plan([
        port({ name: 'sticky', clusterIP: '10.96.0.20', affinitySeconds: 600, internal: eps.slice(0, 1), external: eps.slice(0, 1) }),
        port({ name: 'local', clusterIP: '10.96.0.21', nodePort: 30090, externalLocal: true, external: [] }),
      ]),
    );
    const short = withoutLargerPicks(text);
    expect(short.slice(short.indexOf('\tset aff-'))).toBe(`	set aff-ns/sticky/tcp//10.244.0.10/8080 { type ipv4_addr; flags dynamic,timeout; timeout 600s; }
	chain svc-ns/sticky/tcp/ {
		meta mark set meta mark or 0x4000
		ip saddr @aff-ns/sticky/tcp//10.244.0.10/8080 goto ep-ns/sticky/tcp//10.244.0.10/8080
		goto ep-ns/sticky/tcp//10.244.0.10/8080
	}
	chain ep-ns/sticky/tcp//10.244.0.10/8080 {
		update @aff-ns/sticky/tcp//10.244.0.10/8080 { ip saddr }
		meta l4proto tcp dnat ip to 10.244.0.10:8080
	}
}
# elements: one netlink batch
add element ip svcproxy service-ips { 10.96.0.20 . tcp . 80 comment "ns/sticky port= affinity=600 has-endpoints external=internal" : goto svc-ns/sticky/tcp/, 10.96.0.21 . tcp . 80 comment "ns/local port= local has-endpoints nodeport=30090" : goto cluster-2 }
add element ip svcproxy endpoints { 10.96.0.20 . tcp . 80 . 0 : 10.244.0.10 . 8080, 10.96.0.21 . tcp . 80 . 0 : 10.244.0.10 . 8080, 10.96.0.21 . tcp . 80 . 1 : 10.244.0.11 . 8080 }
add element ip svcproxy service-nodeports { tcp . 30090 : drop }
add element ip svcproxy hairpin { 10.244.0.10 . 10.244.0.10, 10.244.0.11 . 10.244.0.11 }
table ip svcproxy {
	chain nat-prerouting { type nat hook prerouting priority dstnat; policy accept; jump services; }
	chain nat-output { type nat hook output priority -100; policy accept; jump services; }
	chain nat-postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		meta mark and 0x4000 == 0x4000 meta mark set meta mark xor 0x4000 masquerade fully-random
		ct status dnat ip saddr . ip daddr @hairpin masquerade fully-random
	}
}
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
