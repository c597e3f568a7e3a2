/** iptables: a foreign chain with a jump from PREROUTING and a filter rule must survive. */
import type { Topology } from '../../../src/sandbox/topology.js';
import type { Inspector } from '../real.js';

export function iptablesInspector(flavour: 'nft' | 'legacy' = 'nft'): Inspector {
  const ipt = (t: Topology, ...args: string[]) => t.exec(t.node, [`iptables-${flavour}`, '-w', ...args]);
  const save = (t: Topology) => t.exec(t.node, [`iptables-${flavour}-save`]);
  return {
    async placeForeign(t) {
      await ipt(t, '-t', 'nat', '-N', 'FOREIGN-KEEP');
      await ipt(t, '-t', 'nat', '-A', 'FOREIGN-KEEP', '-p', 'tcp', '--dport', '9999', '-j', 'RETURN');
      await ipt(t, '-t', 'nat', '-A', 'PREROUTING', '-j', 'FOREIGN-KEEP');
      await ipt(t, '-t', 'filter', '-A', 'INPUT', '-p', 'tcp', '--dport', '9998', '-j', 'ACCEPT');
    },
    async foreignIntact(t) {
      const s = await save(t);
      return (
        s.includes('-A FOREIGN-KEEP -p tcp -m tcp --dport 9999 -j RETURN') &&
        s.includes('-A PREROUTING -j FOREIGN-KEEP') &&
        s.includes('-A INPUT -p tcp -m tcp --dport 9998 -j ACCEPT')
      );
    },
    async ownedLeft(t) {
      return (await save(t)).split('\n').filter((l) => /SVP-|svcproxy/.test(l));
    },
  };
}
