/** ipvs: a foreign virtual server (ipvsadm) and ipset must survive; leftovers are services, svcproxy0, SVP chains (nat, filter) and sets. */
import { ipsetApply, ipsetNames } from '../../src/native/ipset.js';
import type { Topology } from '../../src/sandbox/topology.js';
import type { Inspector } from '../conformance/real.js';

export const FOREIGN_VS = 'TCP  10.99.0.1:9999 wrr';
export const FOREIGN_DEST = /-> 10\.244\.0\.9:80 +Masq +5 /;

export function ipvsInspector(): Inspector {
  const list = (t: Topology) => t.exec(t.node, ['ipvsadm', '-Ln']);
  return {
    async placeForeign(t) {
      await t.exec(t.node, ['ipvsadm', '-A', '-t', '10.99.0.1:9999', '-s', 'wrr']);
      await t.exec(t.node, ['ipvsadm', '-a', '-t', '10.99.0.1:9999', '-r', '10.244.0.9:80', '-m', '-w', '5']);
      // kube-proxy's own hairpin set, as a neighbour would leave it
      await ipsetApply(t.node, [{ cmd: 'create', name: 'KUBE-LOOP-BACK', type: 'hash:ip,port,ip', revision: 1, family: 4, hashsize: 1024, maxelem: 65536 }]);
    },
    async foreignIntact(t) {
      const l = await list(t);
      return l.includes(FOREIGN_VS) && FOREIGN_DEST.test(l) && (await ipsetNames(t.node)).includes('KUBE-LOOP-BACK');
    },
    async ownedLeft(t) {
      const left = (await list(t))
        .split('\n')
        .filter((l) => /^(TCP|UDP|SCTP|FWM)/.test(l) && !l.startsWith(FOREIGN_VS));
      const links = await t.exec(t.node, ['ip', '-o', 'link', 'show']);
      if (links.includes('svcproxy0')) left.push('link svcproxy0');
      for (const table of ['nat', 'filter']) {
        const save = await t.exec(t.node, ['iptables-legacy-save', '-t', table]);
        left.push(...save.split('\n').filter((l) => /SVP-|svcproxy/.test(l)));
      }
      left.push(...(await ipsetNames(t.node)).filter((n) => n.startsWith('SVP-')).map((n) => `ipset ${n}`));
      return left;
    },
    async snapshot(t) {
      // VIPs are local routes (vips.ts): the local table is part of what must not change.
      const sets = (await ipsetNames(t.node)).sort().join(' ');
      return (await list(t)) + (await t.exec(t.node, ['ip', 'addr', 'show'])) + (await t.exec(t.node, ['ip', 'route', 'show', 'table', 'local'])) + `ipsets: ${sets}\n`;
    },
  };
}
