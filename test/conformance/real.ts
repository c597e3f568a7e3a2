/** A conformance Target on the real kernel: a fresh closed topology per suite. */
import { open } from '../../src/api/proxy.js';
import type { DataplaneOptions, Mode } from '../../src/dataplanes/types.js';
import { CLIENT_IP, CLIENT_IP6, NODE_IP, NODE_IP6, Topology } from '../../src/sandbox/topology.js';
import { NODE_ZONE } from '../../src/testing/conformance/services.js';
import type { Target } from '../../src/testing/conformance/target.js';

/** Mode-specific view of the kernel: foreign objects and leftovers. */
export interface Inspector {
  placeForeign(t: Topology, ctx: RealContext): Promise<void>;
  foreignIntact(t: Topology, ctx: RealContext): Promise<boolean>;
  ownedLeft(t: Topology, ctx: RealContext): Promise<string[]>;
  /** more state to include in snapshots (e.g. bpftool output) */
  snapshot?(t: Topology, ctx: RealContext): Promise<string>;
}

export interface RealContext {
  /** cgroup the clients run in (bpf mode), if any */
  cgroup?: string;
}

export interface RealTargetOptions {
  mode: Mode;
  inspector: Inspector;
  dataplane?: Partial<DataplaneOptions>;
  /** connect from the node namespace instead of the client one (bpf: connect-time LB) */
  connectFromNode?: boolean;
  /** create a cgroup for the clients; returns its path and a remover */
  cgroup?: () => Promise<{ path: string; remove: () => Promise<void> }>;
}

export const NODE_NAME = 'conformance-node';

export async function realTarget(o: RealTargetOptions): Promise<Target> {
  const topo = await Topology.create({ backends: 3, tcpPorts: [8080, 8081], udpPorts: [8080], ipv6: true });
  let cg: { path: string; remove: () => Promise<void> } | undefined;
  try {
    cg = o.cgroup ? await o.cgroup() : undefined;
    const ctx: RealContext = { cgroup: cg?.path };
    const proxy = await open({ mode: o.mode, netns: topo.node, nodeName: NODE_NAME, nodeZone: NODE_ZONE, cgroup: cg?.path, ...o.dataplane });
    return {
      proxy,
      backends: topo.backends.map((b) => ({ name: b.name, address: b.addresses[0]! })),
      nodeIP: NODE_IP,
      clientIP: o.connectFromNode ? NODE_IP : CLIENT_IP,
      nodeName: NODE_NAME,
      ipv6: { backends: topo.backends.map((b) => b.addresses6[0]!), nodeIP: NODE_IP6, clientIP: o.connectFromNode ? NODE_IP6 : CLIENT_IP6 },
      connect: (targets, count, timeoutMs) =>
        topo.connect({ targets, count, timeoutMs, from: o.connectFromNode ? topo.node : topo.client, cgroup: cg?.path }),
      connectFromBackend: (i, targets, count, timeoutMs) => topo.connect({ targets, count, timeoutMs, from: topo.backends[i]!.netns, cgroup: cg?.path }),
      snapshot: async () => (await kernelSnapshot(topo)) + (o.inspector.snapshot ? await o.inspector.snapshot(topo, ctx) : ''),
      placeForeign: () => o.inspector.placeForeign(topo, ctx),
      foreignIntact: () => o.inspector.foreignIntact(topo, ctx),
      ownedLeft: () => o.inspector.ownedLeft(topo, ctx),
      destroy: async () => {
        try {
          await proxy.close();
        } finally {
          await cg?.remove();
          await topo.destroy();
        }
      },
    };
  } catch (e) {
    await cg?.remove();
    await topo.destroy();
    throw e;
  }
}

/** Everything the namespace's packet path holds, minus timestamps and counters. */
export async function kernelSnapshot(topo: Topology): Promise<string> {
  const parts: string[] = [];
  for (const argv of [['iptables-nft-save'], ['iptables-legacy-save'], ['ip6tables-nft-save'], ['ip6tables-legacy-save'], ['nft', 'list', 'ruleset'], ['ipvsadm', '-Ln']]) {
    const out = await topo.exec(topo.node, argv).catch(() => '');
    parts.push(`## ${argv.join(' ')}\n${out.replace(/^#.*\n/gm, '').replace(/\[\d+:\d+\]/g, '[-]')}`);
  }
  return parts.join('\n');
}
