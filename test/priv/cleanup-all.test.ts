/**
 * `svcproxy cleanup` with no mode removes the state of every mode that
 * holds some (leftovers of modes no longer configured included), and
 * nothing foreign: an iptables chain, an nftables table and a BPF program
 * placed beforehand all survive.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open } from '../../src/api/proxy.js';
import type { Mode } from '../../src/dataplanes/types.js';
import { parseServices } from '../../src/model/load.js';
import { mountPrivateBpffs, TestCgroup } from '../../src/sandbox/cgroup.js';
import { attachForeignConnect4, cgroupProgramIds, type ForeignProgram } from '../support/foreign-bpf.js';
import { Topology } from '../../src/sandbox/topology.js';

const run = promisify(execFile);
const bin = new URL('../../bin/svcproxy.js', import.meta.url).pathname;

describe('cleanup of every mode', () => {
  let t: Topology;
  let cg: TestCgroup;
  let bpffs: Awaited<ReturnType<typeof mountPrivateBpffs>>;
  let foreign: ForeignProgram;

  beforeAll(async () => {
    t = await Topology.create({ backends: 1, servers: false });
    cg = TestCgroup.create('svp-cleanup');
    bpffs = await mountPrivateBpffs();
    await t.exec(t.node, ['iptables', '-t', 'nat', '-N', 'FOREIGN-KEEP']);
    await t.exec(t.node, ['iptables', '-t', 'nat', '-A', 'PREROUTING', '-j', 'FOREIGN-KEEP']);
    await t.exec(t.node, ['nft', 'add table inet foreign; add chain inet foreign keep { type filter hook input priority 0; }; add rule inet foreign keep tcp dport 9999 accept']);
    foreign = await attachForeignConnect4(bpffs.path, cg.path);
  });
  afterAll(async () => {
    await t?.destroy();
    await cg?.remove();
    await bpffs?.unmount();
  });

  it('removes the leftovers of every mode and keeps the foreign chain, table and program', async () => {
    const set = parseServices('services: [{name: a, clusterIP: 10.96.9.1, ports: [{port: 80}], endpoints: [{address: 10.244.0.10}]}]');
    const opts = { netns: t.node, cgroup: cg.path, bpffs: bpffs.path };
    for (const mode of ['iptables', 'nftables', 'bpf'] as Mode[]) {
      const p = await open({ mode, ...opts });
      await p.apply(set);
      await p.close();
    }
    const r = await run(process.execPath, [bin, 'cleanup', '--netns', t.node, '--cgroup', cg.path, '--bpffs', bpffs.path]);
    expect(r.stdout).toContain('iptables: cleaned up (1 service ports removed)');
    expect(r.stdout).toContain('nftables: cleaned up');
    expect(r.stdout).toContain('bpf: cleaned up');

    const ipt = await t.exec(t.node, ['iptables-save']);
    expect(ipt).not.toMatch(/SVP-|svcproxy/);
    expect(ipt).toContain('-A PREROUTING -j FOREIGN-KEEP');
    const nft = await t.exec(t.node, ['nft', 'list', 'ruleset']);
    expect(nft).not.toContain('svcproxy');
    expect(nft).toContain('table inet foreign');
    expect(nft).toContain('tcp dport 9999 accept');
    expect((await cgroupProgramIds(cg.path)).map((p) => p.id)).toEqual([await foreign.id()]);
    for (const mode of ['iptables', 'nftables', 'bpf'] as Mode[]) {
      const p = await open({ mode, ...opts });
      expect(await p.read(), mode).toEqual([]);
      await p.close();
    }
  });

  it('with no --mode and no --cgroup: skips bpf and ipvs with their reason, cleans the rest, exits 0', async () => {
    const set = parseServices('services: [{name: b, clusterIP: 10.96.9.2, ports: [{port: 80}], endpoints: [{address: 10.244.0.10}]}]');
    const p = await open({ mode: 'iptables', netns: t.node });
    await p.apply(set);
    await p.close();
    const r = await run(process.execPath, [bin, 'cleanup', '--netns', t.node, '--bpffs', bpffs.path]);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContain('iptables: cleaned up (1 service ports removed)');
    expect(lines).toContain("nftables: cleaned up (nothing of svcproxy's was there)");
    expect(lines.find((l) => l.startsWith('bpf: '))).toMatch(/^bpf: skipped, lacks options: .*--cgroup/);
    expect(lines.find((l) => l.startsWith('ipvs: '))).toMatch(/^ipvs: skipped/);
    expect(lines).toHaveLength(4);
    expect(await t.exec(t.node, ['iptables-save'])).not.toMatch(/SVP-|svcproxy/);

    const j = await run(process.execPath, [bin, 'cleanup', '--netns', t.node, '--json']);
    const doc = JSON.parse(j.stdout) as { modes: { mode: string; outcome: string }[] };
    expect(Object.fromEntries(doc.modes.map((m) => [m.mode, m.outcome]))).toEqual({ iptables: 'empty', nftables: 'empty', ipvs: 'skipped', bpf: 'skipped' });
    expect((await run(process.execPath, [bin, 'cleanup', '--netns', t.node, '--quiet'])).stdout).toBe('');
  });
});
