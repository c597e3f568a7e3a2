/**
 * demo: a closed sandbox (client, node, 3 backends), the Services of
 * examples/shop.yaml programmed in one mode on the node, real connections
 * from the client, and which backend answered each one.
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import { open } from '../../api/proxy.js';
import { loadFile } from '../../model/load.js';
import { packageRoot } from '../../native/binding.js';
import { describePort } from '../../plan/render.js';
import { destroyAll, NODE_IP, Topology } from '../../sandbox/topology.js';
import { modeOption } from '../options.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('program example Services in a closed sandbox and show where real connections land')
    .addOption(modeOption().default('iptables'))
    .option('-f, --file <file>', 'services (endpoints must be 10.244.0.10-12)', join(packageRoot, 'examples', 'shop.yaml'))
    .option('-n, --connections <n>', 'connections per frontend', '6')
    .action(async (flags: { mode: 'iptables'; file: string; connections: string }) => {
      const set = await loadFile(flags.file);
      const stop = () => void destroyAll().finally(() => process.exit(130));
      process.once('SIGINT', stop).once('SIGTERM', stop);
      console.log('building a closed sandbox: client -> node -> 3 backends (no link to this host)');
      const topo = await Topology.create({ backends: 3 });
      try {
        const proxy = await open({ mode: flags.mode, netns: topo.node });
        const r = await proxy.apply(set);
        console.log(`\n${flags.mode} mode, namespace ${topo.node}:\n${r.plan.desired.map((s) => `  ${describePort(s)}`).join('\n')}\n`);
        const targets = r.plan.desired.flatMap((s) => [
          { host: s.clusterIP, port: s.port, proto: s.protocol === 'UDP' ? ('UDP' as const) : ('TCP' as const) },
          ...(s.nodePort ? [{ host: NODE_IP, port: s.nodePort, proto: 'TCP' as const }] : []),
        ]);
        const attempts = await topo.connect({ targets, count: Number(flags.connections), timeoutMs: 2000 });
        for (const a of attempts) {
          const what = a.ok ? `answered by ${a.backend} (${a.local}), which saw the client as ${a.peer}` : `failed: ${a.error}`;
          console.log(`  ${a.proto} ${a.host}:${a.port}  ${what}`);
        }
        await proxy.cleanup();
        await proxy.close();
      } finally {
        await topo.destroy();
      }
      console.log('\nsandbox removed');
    });
}
