/**
 * A long-lived nftables ServiceProxy repairs drift (test/conformance/drift.ts):
 * a service-ips element deleted with `nft`, or a second proxy's full sync
 * swapping the table, is put back by read() + apply() on the original proxy.
 */
import { expect } from 'vitest';
import { open } from '../../src/api/proxy.js';
import { Topology } from '../../src/sandbox/topology.js';
import { describeDrift } from '../conformance/drift.js';

describeDrift('nftables', {
  setup: async () => {
    const topo = await Topology.create({ backends: 3 });
    return {
      topo,
      open: () => open({ mode: 'nftables', netns: topo.node }),
      connect: (host, count, timeoutMs) => topo.connect({ targets: [{ host, port: 80 }], count, timeoutMs }),
      destroy: () => topo.destroy(),
    };
  },
  deleteBehind: async ({ topo }, vip) => {
    const table = (await topo.exec(topo.node, ['nft', 'list', 'tables'])).includes('table ip svcproxy-b') ? 'svcproxy-b' : 'svcproxy';
    await topo.exec(topo.node, ['nft', 'delete', 'element', 'ip', table, 'service-ips', `{ ${vip} . tcp . 80 }`]);
  },
  // memory kept: only the touched elements are written, no table rebuild
  incremental: (stats) => expect(stats?.detail).toMatchObject({ full: 0 }),
});
