/**
 * The IPv6 half of a dual-stack sandbox (Topology.create({ ipv6: true })):
 * ULA addresses on the links the IPv4 build made, forwarding and default
 * routes inside the sandbox namespaces only. Addresses skip DAD (nodad, and
 * accept_dad=0 where the namespaces are made), so no exchange waits for it.
 */
import { sh } from './shell.js';

export const CLIENT_IP6 = 'fd00:250::2';
export const NODE_IP6 = 'fd00:250::1';
export const NODE_BACKEND_IP6 = 'fd00:244::1';
const NODE_DROP_IP6 = 'fd00:253::1';
const DROP_IP6 = 'fd00:253::2';
/** backend i's IPv6 address number j, in the canonical form iptables-save and nft print */
export const backendIP6 = (i: number, j: number) => (j === 0 ? `fd00:244::${10 + i}` : `fd00:244::${j.toString(16)}:${10 + i}`);

/** What addIPv6 needs of a Topology: its namespaces and backends. */
export interface SandboxNamespaces {
  node: string;
  client: string;
  drop: string;
  backends: { netns: string; addresses6: string[] }[];
}

export async function addIPv6(t: SandboxNamespaces, per: number): Promise<void> {
  const ip6 = (ns: string, ...args: string[]) => sh(['ip', '-6', '-n', ns, ...args]);
  const addr = (ns: string, a: string, dev: string) => ip6(ns, 'addr', 'add', a, 'dev', dev, 'nodad');
  const sysctl = (ns: string, key: string, v: string) => sh(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', `${key}=${v}`]);
  await addr(t.node, `${NODE_IP6}/64`, 'to-client');
  await addr(t.node, `${NODE_DROP_IP6}/64`, 'to-drop');
  await addr(t.node, `${NODE_BACKEND_IP6}/64`, 'svpbr');
  await sysctl(t.node, 'net.ipv6.conf.all.forwarding', '1');
  await ip6(t.node, 'route', 'add', 'default', 'via', DROP_IP6);
  await addr(t.client, `${CLIENT_IP6}/64`, 'eth0');
  await ip6(t.client, 'route', 'add', 'default', 'via', NODE_IP6);
  await addr(t.drop, `${DROP_IP6}/64`, 'eth0');
  await sysctl(t.drop, 'net.ipv6.conf.all.forwarding', '1');
  await ip6(t.drop, 'route', 'add', 'blackhole', 'default');
  for (const [i, b] of t.backends.entries()) {
    for (let j = 0; j < per; j++) {
      b.addresses6.push(backendIP6(i, j));
      await addr(b.netns, `${backendIP6(i, j)}/64`, 'eth0');
    }
    await ip6(b.netns, 'route', 'add', 'default', 'via', NODE_BACKEND_IP6);
  }
  await untilNoTentative([t.node, t.client, t.drop, ...t.backends.map((b) => b.netns)]);
}

/** Every IPv6 address usable (none left in DAD), so the first connect is not the one that waits. */
async function untilNoTentative(namespaces: string[]): Promise<void> {
  const deadline = Date.now() + 5000;
  for (const ns of namespaces) {
    while ((await sh(['ip', '-6', '-n', ns, 'addr', 'show', 'tentative'])).trim() !== '') {
      if (Date.now() > deadline) throw new Error(`sandbox: IPv6 addresses in ${ns} still tentative (DAD) after 5 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
