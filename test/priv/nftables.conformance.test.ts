/**
 * The shared conformance suite for nftables mode, with an inspector for
 * nftables: a foreign `table inet foreign` (with a base chain) must survive,
 * and nothing of `table ip/ip6 svcproxy` may be left after cleanup.
 */
import type { Topology } from '../../src/sandbox/topology.js';
import { realTarget, type Inspector } from '../conformance/real.js';
import { describeConformance } from '../../src/testing/conformance/suite.js';

const FOREIGN = `table inet foreign {
	chain keep {
		type filter hook prerouting priority -300; policy accept;
		tcp dport 9999 counter accept
	}
}
`;

const nft = (t: Topology, ...args: string[]) => t.exec(t.node, ['nft', ...args]);

const nftInspector: Inspector = {
  async placeForeign(t) {
    await t.exec(t.node, ['nft', '-f', '-'], FOREIGN);
  },
  async foreignIntact(t) {
    const s = await nft(t, 'list', 'table', 'inet', 'foreign');
    return s.includes('chain keep') && s.includes('tcp dport 9999') && s.includes('type filter hook prerouting');
  },
  async ownedLeft(t) {
    return (await nft(t, 'list', 'tables')).split('\n').filter((l) => /svcproxy/.test(l));
  },
};

describeConformance('nftables (host kernel)', () => realTarget({ mode: 'nftables', inspector: nftInspector }), {
  // not yet: kube-proxy's cluster-ips set + reject rule (README, semantics)
  undefinedPorts: false,
});
