/** iptables: a foreign chain with a jump from PREROUTING and a filter rule must survive, in iptables and ip6tables. */
import type { Topology } from '../../../src/sandbox/topology.js';
import type { Inspector } from '../real.js';

export function iptablesInspector(flavour: 'nft' | 'legacy' = 'nft'): Inspector {
  const tools = [`iptables-${flavour}`, `ip6tables-${flavour}`];
  const ipt = (t: Topology, tool: string, ...args: string[]) => t.exec(t.node, [tool, '-w', ...args]);
  const save = (t: Topology, tool: string) => t.exec(t.node, [`${tool}-save`]);
  return {
    async placeForeign(t) {
      for (const tool of tools) {
        await ipt(t, tool, '-t', 'nat', '-N', 'FOREIGN-KEEP');
        await ipt(t, tool, '-t', 'nat', '-A', 'FOREIGN-KEEP', '-p', 'tcp', '--dport', '9999', '-j', 'RETURN');
        await ipt(t, tool, '-t', 'nat', '-A', 'PREROUTING', '-j', 'FOREIGN-KEEP');
        await ipt(t, tool, '-t', 'filter', '-A', 'INPUT', '-p', 'tcp', '--dport', '9998', '-j', 'ACCEPT');
      }
    },
    async foreignIntact(t) {
      for (const tool of tools) {
        const s = await save(t, tool);
        const intact =
          s.includes('-A FOREIGN-KEEP -p tcp -m tcp --dport 9999 -j RETURN') &&
          s.includes('-A PREROUTING -j FOREIGN-KEEP') &&
          s.includes('-A INPUT -p tcp -m tcp --dport 9998 -j ACCEPT');
        if (!intact) return false;
      }
      return true;
    },
    async ownedLeft(t) {
      const left: string[] = [];
      for (const tool of tools) left.push(...(await save(t, tool)).split('\n').filter((l) => /SVP-|svcproxy/.test(l)).map((l) => `${tool}: ${l}`));
      return left;
    },
  };
}
