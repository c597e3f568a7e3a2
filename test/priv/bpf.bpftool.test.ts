/**
 * bpftool sees what svcproxy did, and svcproxy touches nothing else: a
 * foreign program attached to the test cgroup beforehand survives apply and
 * cleanup; after cleanup no svcproxy pin or link is left.
 */
import { statSync, writeFileSync, mkdtempSync, rmSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open, type ServiceProxy } from '../../src/api/proxy.js';
import { pinPaths } from '../../src/dataplanes/bpf/paths.js';
import { parseServices } from '../../src/model/index.js';
import { mountPrivateBpffs, TestCgroup } from '../../src/sandbox/cgroup.js';
import { sh } from '../../src/sandbox/shell.js';
import { Topology } from '../../src/sandbox/topology.js';

const FOREIGN = `
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("cgroup/connect4") int foreign_connect4(struct bpf_sock_addr *ctx) { return 1; }
`;

interface CgroupProg {
  id: number;
  attach_type: string;
  name: string;
}

const bpftool = async (...args: string[]) => JSON.parse(await sh(['bpftool', '-j', ...args])) as unknown;

describe('bpf mode and bpftool', () => {
  let topo: Topology;
  let cg: TestCgroup;
  let bpffs: Awaited<ReturnType<typeof mountPrivateBpffs>>;
  let proxy: ServiceProxy;
  let work: string;
  const foreignPin = () => join(bpffs.path, 'foreign_connect4');
  const cgroupProgs = async () => (await bpftool('cgroup', 'show', cg.path)) as CgroupProg[];
  const cgroupLinks = async () => {
    const links = (await bpftool('link', 'show')) as { type: string; cgroup_id?: number }[];
    return links.filter((l) => l.type === 'cgroup' && l.cgroup_id === statSync(cg.path).ino);
  };

  beforeAll(async () => {
    bpffs = await mountPrivateBpffs();
    process.env.SVCPROXY_BPFFS = bpffs.path;
    cg = TestCgroup.create('svp-bpftool');
    topo = await Topology.create({ backends: 2 });
    work = mkdtempSync(join(tmpdir(), 'svp-foreign-'));
    writeFileSync(join(work, 'foreign.bpf.c'), FOREIGN);
    await sh(['clang-14', '-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', join(work, 'foreign.bpf.c'), '-o', join(work, 'foreign.bpf.o')]);
    await sh(['bpftool', 'prog', 'load', join(work, 'foreign.bpf.o'), foreignPin(), 'type', 'cgroup/connect4']);
    await sh(['bpftool', 'cgroup', 'attach', cg.path, 'connect4', 'pinned', foreignPin(), 'multi']);
    proxy = await open({ mode: 'bpf', netns: topo.node, cgroup: cg.path });
  });

  afterAll(async () => {
    await proxy?.cleanup().catch(() => {});
    await topo?.destroy();
    await cg?.remove(); // removing the cgroup detaches the foreign program too
    await bpffs?.unmount();
    if (work) rmSync(work, { recursive: true, force: true });
    delete process.env.SVCPROXY_BPFFS;
  });

  it('shows svcproxy programs attached next to the foreign one, and the expected map entries', async () => {
    await proxy.apply(
      parseServices(
        JSON.stringify({
          services: [{ name: 'web', clusterIP: '10.96.0.20', ports: [{ port: 80, targetPort: 8080 }], endpoints: [{ address: '10.244.0.10' }, { address: '10.244.0.11' }] }],
        }),
      ),
    );
    const progs = await cgroupProgs();
    const names = progs.map((p) => `${p.attach_type}:${p.name}`).sort();
    expect(names).toEqual(
      [
        'cgroup_inet4_connect:foreign_connect4',
        'cgroup_inet4_connect:svp_connect4',
        'cgroup_inet4_getpeername:svp_getpeername4',
        'cgroup_inet6_connect:svp_connect6',
        'cgroup_inet6_getpeername:svp_getpeername6',
        'cgroup_udp4_recvmsg:svp_recvmsg4',
        'cgroup_udp4_sendmsg:svp_sendmsg4',
        'cgroup_udp6_recvmsg:svp_recvmsg6',
        'cgroup_udp6_sendmsg:svp_sendmsg6',
      ].sort(),
    );
    expect(await cgroupLinks()).toHaveLength(8);

    const p = pinPaths(cg.path);
    const services = (await bpftool('map', 'dump', 'pinned', p.services)) as { formatted?: { key: { addr: number[]; port: number }; value: { count: number } } }[];
    expect(services).toHaveLength(1);
    const svc = services[0]!.formatted!;
    // addr[0] is the VIP in network order read as a host-order u32
    expect(Buffer.from(Uint32Array.of(svc.key.addr[0]!).buffer).join('.')).toBe('10.96.0.20');
    expect(svc.value.count).toBe(2);
    // both endpoints in one page (svp_backend_page), the rest of it zero
    const backends = (await bpftool('map', 'dump', 'pinned', p.backends)) as { formatted?: { value: { be: { port: number }[] } } }[];
    expect(backends).toHaveLength(1);
    expect(backends[0]!.formatted!.value.be.map((b) => b.port !== 0)).toEqual([true, true, false, false, false, false, false, false]);

    // both programs run: the foreign one lets the connect go on, svcproxy translates it
    const tcp = await topo.connect({ targets: [{ host: '10.96.0.20', port: 80 }], count: 10, cgroup: cg.path });
    expect(tcp.every((a) => a.ok)).toBe(true);
  });

  it('leaves nothing of its own after cleanup, and the foreign program attached', async () => {
    await proxy.cleanup();
    const progs = await cgroupProgs();
    expect(progs.map((p) => p.name)).toEqual(['foreign_connect4']);
    expect(existsSync(join(bpffs.path, 'svcproxy'))).toBe(false);
    expect(readdirSync(bpffs.path).filter((f) => !f.endsWith('.debug'))).toEqual(['foreign_connect4']);
    expect(await cgroupLinks()).toEqual([]);
  });
});
