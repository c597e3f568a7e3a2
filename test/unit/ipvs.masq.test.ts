import { describe, expect, it } from 'vitest';
import { loopbackEntries } from '../../src/dataplanes/ipvs/hairpin.js';
import { inMasqChain, masqRules } from '../../src/dataplanes/ipvs/masq.js';
import { endpointList, portState } from '../support/states.js';

const web = portState({ name: 'web', clusterIP: '10.96.0.1', nodePort: 30080, externalIPs: ['192.0.2.1'] }, endpointList(2));
const local = portState({ name: 'local', clusterIP: '10.96.0.2', nodePort: 30081, loadBalancerIPs: ['198.51.100.1'], externalLocal: true }, endpointList(1));
const plain = portState({ name: 'plain', clusterIP: '10.96.0.3' }, endpointList(3));
const v6 = portState({ name: 'six', clusterIP: 'fd00::1', family: 6, externalIPs: ['fd00::2'] }, [{ address: 'fd00::10', port: 80 }]);
const nodeIPs = ['10.250.0.1', 'fd00::99'];
const C = '-A SVP-IPVS-POSTROUTING';
const IPVS = '-m ipvs --ipvs --vdir ORIGINAL --vmethod MASQ';

describe('IPVS masquerade rules (kube-proxy IPVS semantics)', () => {
  it('hairpin first, Local external frontends kept, node ports and other external frontends masqueraded, cluster IPs not', () => {
    expect(masqRules([web, local, plain, v6], { nodeIPs })).toEqual([
      `${C} ${IPVS} -m set --match-set SVP-LOOP-BACK dst,dst,src -j MASQUERADE`,
      `${C} -m ipvs --ipvs --vdir ORIGINAL --vaddr 198.51.100.1/32 --vport 80 -j RETURN`,
      `${C} -m ipvs --ipvs --vdir ORIGINAL --vaddr 10.250.0.1/32 --vport 30081 -j RETURN`,
      `${C} ${IPVS} --vaddr 10.250.0.1/32 -j MASQUERADE`,
      `${C} ${IPVS} --vaddr 192.0.2.1/32 --vport 80 -j MASQUERADE`,
    ]);
  });

  it('cluster IP traffic from outside clusterCIDR, or all of it with masqueradeAll', () => {
    expect(masqRules([plain], { nodeIPs: [], clusterCIDR: '10.244.0.0/16' }).at(-1)).toBe(`${C} ! -s 10.244.0.0/16 ${IPVS} -j MASQUERADE`);
    expect(masqRules([plain], { nodeIPs: [], masqueradeAll: true, clusterCIDR: '10.244.0.0/16' }).at(-1)).toBe(`${C} ${IPVS} -j MASQUERADE`);
  });

  it('the chain changes only with ports that have external frontends or a Local node port', () => {
    expect([web, local, plain, v6].map(inMasqChain)).toEqual([true, true, false, false]);
  });

  it('hairpin entries: every IPv4 endpoint (internal and external lists), once', () => {
    const both = portState({ name: 'both', clusterIP: '10.96.0.4', protocol: 'UDP', internal: endpointList(1), external: endpointList(2) });
    const e = loopbackEntries([web, both, v6, web]);
    expect([...e.keys()].sort()).toEqual(['10.244.0.10,17:8080', '10.244.0.10,6:8080', '10.244.0.11,17:8080', '10.244.0.11,6:8080']);
    expect(e.get('10.244.0.11,17:8080')).toEqual({ ip: '10.244.0.11', port: 8080, proto: 17, ip2: '10.244.0.11' });
  });
});
