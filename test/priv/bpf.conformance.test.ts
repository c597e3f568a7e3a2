/**
 * The shared conformance suite for bpf mode: the clients join a cgroup made
 * for the suite (connect-time translation applies to its sockets only), pins
 * go to a private bpffs. Connect-time LB does no NAT: no masquerade, and the
 * client address is always kept.
 */
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { pinPaths } from '../../src/dataplanes/bpf/paths.js';
import { mountPrivateBpffs, TestCgroup } from '../../src/sandbox/cgroup.js';
import { sh } from '../../src/sandbox/shell.js';
import { realTarget, type Inspector } from '../conformance/real.js';
import { describeConformance } from '../conformance/suite.js';

let foreignPin = '';
const FOREIGN = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("cgroup/connect4") int foreign_connect4(struct bpf_sock_addr *ctx) { return 1; }
`;

const bpfInspector = (bpffs: string): Inspector => ({
  async placeForeign(_t, ctx) {
    // a foreign connect4 program (clang + bpftool) attached to the test cgroup
    const src = `${bpffs}.foreign.bpf.c`;
    writeFileSync(src, FOREIGN);
    await sh(['clang-14', '-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', src, '-o', `${src}.o`]);
    foreignPin = `${bpffs}/foreign_connect4`;
    await sh(['bpftool', 'prog', 'load', `${src}.o`, foreignPin, 'type', 'cgroup/connect4']);
    rmSync(src);
    rmSync(`${src}.o`);
    await sh(['bpftool', 'cgroup', 'attach', ctx.cgroup!, 'connect4', 'pinned', foreignPin, 'multi']);
  },
  async foreignIntact(_t, ctx) {
    const progs = JSON.parse(await sh(['bpftool', '-j', 'cgroup', 'show', ctx.cgroup!])) as { id: number }[];
    const pinned = JSON.parse(await sh(['bpftool', '-j', 'prog', 'show', 'pinned', foreignPin])) as { id: number };
    return progs.some((p) => p.id === pinned.id);
  },
  async ownedLeft(_t, ctx) {
    const left: string[] = [];
    const dir = pinPaths(ctx.cgroup!).dir;
    try {
      left.push(...readdirSync(dir).map((f) => `${dir}/${f}`));
    } catch {
      /* gone: good */
    }
    const pinned = JSON.parse(await sh(['bpftool', '-j', 'prog', 'show', 'pinned', foreignPin])) as { id: number };
    const progs = JSON.parse(await sh(['bpftool', '-j', 'cgroup', 'show', ctx.cgroup!])) as { id: number; name: string }[];
    left.push(...progs.filter((p) => p.id !== pinned.id).map((p) => `program ${p.name} on ${ctx.cgroup}`));
    return left;
  },
  async snapshot(_t, ctx) {
    const p = pinPaths(ctx.cgroup!);
    const parts = [await sh(['bpftool', 'cgroup', 'show', ctx.cgroup!])];
    for (const m of [p.services, p.backends, p.meta]) parts.push(await sh(['bpftool', 'map', 'dump', 'pinned', m]).catch(() => '(none)'));
    return `## bpf\n${parts.join('\n')}`;
  },
});

describeConformance(
  'bpf (host kernel, test cgroup)',
  async () => {
    const bpffs = await mountPrivateBpffs();
    process.env.SVCPROXY_BPFFS = bpffs.path;
    try {
      const target = await realTarget({
        mode: 'bpf',
        inspector: bpfInspector(bpffs.path),
        cgroup: async () => {
          const cg = TestCgroup.create('svp-conf');
          return { path: cg.path, remove: () => cg.remove() };
        },
      });
      const destroy = target.destroy;
      target.destroy = async () => {
        try {
          await destroy();
        } finally {
          await bpffs.unmount();
          delete process.env.SVCPROXY_BPFFS;
        }
      };
      return target;
    } catch (e) {
      await bpffs.unmount();
      throw e;
    }
  },
  { masquerade: false },
);
