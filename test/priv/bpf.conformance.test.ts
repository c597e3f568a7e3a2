/**
 * The shared conformance suite for bpf mode: the clients join a cgroup made
 * for the suite (connect-time translation applies to its sockets only), pins
 * go to a private bpffs. Connect-time LB does no NAT: no masquerade, and the
 * client address is always kept.
 */
import { readdirSync } from 'node:fs';
import { pinPaths } from '../../src/dataplanes/bpf/paths.js';
import { mountPrivateBpffs, TestCgroup } from '../../src/sandbox/cgroup.js';
import { sh } from '../../src/sandbox/shell.js';
import { realTarget, type Inspector } from '../conformance/real.js';
import { describeConformance } from '../../src/testing/conformance/suite.js';
import { attachForeignConnect4, cgroupProgramIds, type ForeignProgram } from '../support/foreign-bpf.js';

let foreign: ForeignProgram;

const bpfInspector = (bpffs: string): Inspector => ({
  async placeForeign(_t, ctx) {
    // a foreign connect4 program (clang + bpftool) attached to the test cgroup
    foreign = await attachForeignConnect4(bpffs, ctx.cgroup!);
  },
  async foreignIntact(_t, ctx) {
    const id = await foreign.id();
    return (await cgroupProgramIds(ctx.cgroup!)).some((p) => p.id === id);
  },
  async ownedLeft(_t, ctx) {
    const left: string[] = [];
    const dir = pinPaths(ctx.cgroup!).dir;
    try {
      left.push(...readdirSync(dir).map((f) => `${dir}/${f}`));
    } catch {
      /* gone: good */
    }
    const id = await foreign.id();
    left.push(...(await cgroupProgramIds(ctx.cgroup!)).filter((p) => p.id !== id).map((p) => `program ${p.name} on ${ctx.cgroup}`));
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
  // undefined cluster IP ports are not refused yet in bpf mode (README, semantics)
  { masquerade: false, undefinedPorts: false },
);
