/** ipvs: a foreign virtual server made with ipvsadm must survive; leftovers are services, svcproxy0, SVP chains. */
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
    },
    async foreignIntact(t) {
      const l = await list(t);
      return l.includes(FOREIGN_VS) && FOREIGN_DEST.test(l);
    },
    async ownedLeft(t) {
      const left = (await list(t))
        .split('\n')
        .filter((l) => /^(TCP|UDP|SCTP|FWM)/.test(l) && !l.startsWith(FOREIGN_VS));
      const links = await t.exec(t.node, ['ip', '-o', 'link', 'show']);
      if (links.includes('svcproxy0')) left.push('link svcproxy0');
      const nat = await t.exec(t.node, ['iptables-legacy-save', '-t', 'nat']);
      left.push(...nat.split('\n').filter((l) => /SVP-|svcproxy/.test(l)));
      return left;
    },
    async snapshot(t) {
      // VIPs are local routes (vips.ts): the local table is part of what must not change.
      return (await list(t)) + (await t.exec(t.node, ['ip', 'addr', 'show'])) + (await t.exec(t.node, ['ip', 'route', 'show', 'table', 'local']));
    },
  };
}
