/**
 * A long-lived iptables ServiceProxy repairs drift (test/conformance/drift.ts):
 * a dispatch rule deleted with iptables-restore in the namespace, or a second
 * proxy applying a different set, is put back by read() + apply() on the
 * original proxy (its per-family views follow read()).
 */
import { open } from '../../src/api/proxy.js';
import { Topology } from '../../src/sandbox/topology.js';
import { describeDrift } from '../conformance/drift.js';

describeDrift('iptables', {
  setup: async () => {
    const topo = await Topology.create({ backends: 3 });
    return {
      topo,
      open: () => open({ mode: 'iptables', netns: topo.node }),
      connect: (host, count, timeoutMs) => topo.connect({ targets: [{ host, port: 80 }], count, timeoutMs }),
      destroy: () => topo.destroy(),
    };
  },
  deleteBehind: async ({ topo }, vip) => {
    // whichever flavour holds svcproxy's dispatch rule for the VIP
    for (const flavour of ['nft', 'legacy']) {
      const save = await topo.exec(topo.node, [`iptables-${flavour}-save`, '-t', 'nat']);
      const rule = save.split('\n').find((l) => l.startsWith('-A SVP-SERVICES ') && l.includes(` -d ${vip}/32 `));
      if (rule) return void (await topo.exec(topo.node, [`iptables-${flavour}-restore`, '--noflush'], `*nat\n-D ${rule.slice(3)}\nCOMMIT\n`));
    }
    throw new Error(`no SVP-SERVICES rule for ${vip} in iptables-nft or iptables-legacy`);
  },
});
