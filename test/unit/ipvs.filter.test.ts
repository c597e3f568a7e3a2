import { describe, expect, it } from 'vitest';
import { drainsGracefully, retire } from '../../src/dataplanes/ipvs/dests.js';
import { filterEntries, filterRules, vipEntries } from '../../src/dataplanes/ipvs/filter.js';
import { IPPROTO, IPVS_CMD, type IpvsDest, type IpvsOp } from '../../src/native/ipvs.js';
import type { Draining } from '../../src/dataplanes/ipvs/state.js';
import { endpointList, portState } from '../support/states.js';

const nodeIPs = ['10.250.0.1', 'fd00::99'];
const web = portState({ name: 'web', clusterIP: '10.96.0.1', nodePort: 30080, externalIPs: ['192.0.2.1'] }, endpointList(2));
const empty = portState({ name: 'empty', clusterIP: '10.96.0.2', nodePort: 30082, loadBalancerIPs: ['198.51.100.2'], protocol: 'UDP' }, []);
const v6 = portState({ name: 'six', clusterIP: 'fd00::1', family: 6 }, []);
const keys = (m: Map<string, unknown>) => [...m.keys()].sort();

describe('IPVS filter (kube-proxy KUBE-IPVS-FILTER) and refusal of ports without endpoints', () => {
  it('no-endpoint frontends refuse first (TCP by reset), then defined frontends pass, then other ports of a VIP refuse when new', () => {
    expect(filterRules()).toEqual([
      '-A SVP-IPVS-FILTER -p tcp -m set --match-set SVP-IPVS-NOEP dst,dst -j REJECT --reject-with tcp-reset',
      '-A SVP-IPVS-FILTER -m set --match-set SVP-IPVS-NOEP dst,dst -j REJECT --reject-with icmp-port-unreachable',
      '-A SVP-IPVS-FILTER -m set --match-set SVP-IPVS-SERVICES dst,dst -j RETURN',
      '-A SVP-IPVS-FILTER -p tcp -m conntrack --ctstate NEW -m set --match-set SVP-IPVS-VIPS dst -j REJECT --reject-with tcp-reset',
      '-A SVP-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set SVP-IPVS-VIPS dst -j REJECT --reject-with icmp-port-unreachable',
    ]);
  });

  it('entries: every VIP frontend is defined; a port without any endpoint refuses on its VIPs and IPv4 node addresses; IPv6 is left out', () => {
    const e = filterEntries([web, empty, v6], nodeIPs);
    expect(keys(e.services)).toEqual(['10.96.0.1,6:80', '10.96.0.2,17:80', '192.0.2.1,6:80', '198.51.100.2,17:80']);
    expect(keys(e.noEndpoints)).toEqual(['10.250.0.1,17:30082', '10.96.0.2,17:80', '198.51.100.2,17:80']);
    expect(e.services.get('10.96.0.1,6:80')).toEqual({ ip: '10.96.0.1', port: 80, proto: IPPROTO.TCP });
  });

  it('a port with endpoints only elsewhere (policy Local) is left to IPVS, not refused', () => {
    const local = portState({ name: 'local', clusterIP: '10.96.0.3', nodePort: 30083, externalLocal: true, internal: endpointList(1), external: [], hasEndpoints: true });
    expect(keys(filterEntries([local], nodeIPs).noEndpoints)).toEqual([]);
  });

  it('VIPs: IPv4 ones, not a node address used as an external IP (its other ports are the host\'s own)', () => {
    expect(keys(vipEntries(['10.96.0.1', '10.250.0.1', 'fd00::1'], nodeIPs))).toEqual(['10.96.0.1']);
  });
});

describe('IPVS real server removal (kube-proxy #77802)', () => {
  const dest = (conns: number, weight = 1): IpvsDest => ({ address: '10.244.0.10', port: 8080, fwd: 0, weight, activeConns: conns, inactiveConns: 0 }) as IpvsDest;
  const service = (protocol: number) => ({ family: 4 as const, protocol, address: '10.96.0.1', port: 80 });
  const retired = (protocol: number, d: IpvsDest) => {
    const ops: IpvsOp[] = [];
    const draining: Draining[] = [];
    retire(service(protocol) as never, d, ops, draining);
    return { cmds: ops.map((o) => o.cmd), draining: draining.length };
  };

  it('TCP with connections drains at weight 0; without, it is deleted', () => {
    expect(retired(IPPROTO.TCP, dest(2))).toEqual({ cmds: [IPVS_CMD.SET_DEST], draining: 1 });
    expect(retired(IPPROTO.TCP, dest(2, 0))).toEqual({ cmds: [], draining: 1 });
    expect(retired(IPPROTO.TCP, dest(0))).toEqual({ cmds: [IPVS_CMD.DEL_DEST], draining: 0 });
  });

  it('UDP and SCTP are deleted at once, connections or not', () => {
    expect(retired(IPPROTO.UDP, dest(3))).toEqual({ cmds: [IPVS_CMD.DEL_DEST], draining: 0 });
    expect(retired(IPPROTO.SCTP, dest(3))).toEqual({ cmds: [IPVS_CMD.DEL_DEST], draining: 0 });
    expect([IPPROTO.TCP, IPPROTO.UDP, IPPROTO.SCTP].map((protocol) => drainsGracefully({ protocol }))).toEqual([true, false, false]);
  });
});
