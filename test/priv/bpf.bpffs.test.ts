/**
 * --bpffs auto: with no bpffs where bpf mode would pin, apply mounts a
 * private one it owns, forwarding works through it, and cleanup (from a new
 * process too) unmounts it and removes the directory it made. A bpffs that
 * was mounted already, or an explicit PATH, is never mounted or unmounted.
 * Rule 1: the auto location is a temporary directory (SVCPROXY_BPFFS), never
 * the host's /sys/fs/bpf or /run/svcproxy/bpffs.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open } from '../../src/api/proxy.js';
import { parseServices } from '../../src/model/load.js';
import { MARK } from '../../src/dataplanes/bpf/bpffs.js';
import { createBpfDataplane } from '../../src/dataplanes/bpf/index.js';
import { isBpffs } from '../../src/dataplanes/bpf/fs.js';
import { pinPaths } from '../../src/dataplanes/bpf/paths.js';
import { SvcproxyError } from '../../src/errors.js';
import { mountPrivateBpffs, TestCgroup } from '../../src/sandbox/cgroup.js';
import { sh } from '../../src/sandbox/shell.js';
import { Topology } from '../../src/sandbox/topology.js';
import { realTarget } from '../conformance/real.js';
import * as S from '../../src/testing/conformance/services.js';
import type { Target } from '../../src/testing/conformance/target.js';

const run = promisify(execFile);
const bin = new URL('../../bin/svcproxy.js', import.meta.url).pathname;

/** one service for the instances besides the conformance target's (no traffic sent to them) */
const oneService = () =>
  parseServices('services: [{name: one, clusterIP: 10.96.0.20, ports: [{port: 80, targetPort: 8080}], endpoints: [{address: 10.244.0.10}]}]');

const noInspector = {
  placeForeign: async () => {},
  foreignIntact: async () => true,
  ownedLeft: async () => [],
};

describe('bpf mode, --bpffs auto (private bpffs, real traffic)', () => {
  let work: string;
  let auto: string;
  let t: Target;
  let cg: TestCgroup;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'svp-bpffs-auto-'));
    auto = join(work, 'bpffs'); // does not exist yet: svcproxy makes it, and removes it
    process.env.SVCPROXY_BPFFS = auto;
    t = await realTarget({
      mode: 'bpf',
      inspector: noInspector,
      cgroup: async () => {
        cg = TestCgroup.create('svp-bpffs');
        return { path: cg.path, remove: () => cg.remove() };
      },
    });
  });

  afterAll(async () => {
    try {
      await t?.proxy.cleanup().catch(() => undefined);
      await t?.destroy();
    } finally {
      while (isBpffs(auto)) await sh(['umount', auto]); // only if a test failed half-way
      rmSync(work, { recursive: true, force: true });
      delete process.env.SVCPROXY_BPFFS;
    }
  });

  it('detect says it will mount a private bpffs, and reading mounts nothing', async () => {
    const cap = await t.proxy.detect();
    expect(cap.usable, cap.reason).toBe(true);
    expect(cap.notes).toContain(`bpffs: will mount a private one at ${auto}`);
    expect(await t.proxy.read()).toEqual([]);
    const cli = await run(process.execPath, [bin, 'detect', '--cgroup', cg.path], { env: { ...process.env, SVCPROXY_BPFFS: auto } });
    expect(cli.stdout).toContain(`bpffs: will mount a private one at ${auto}`);
    expect(existsSync(auto)).toBe(false);
  });

  it('apply mounts a marked bpffs, pins there, and forwards real traffic', async () => {
    await t.proxy.apply(S.webSet(t));
    expect(isBpffs(auto)).toBe(true);
    expect(existsSync(join(auto, MARK))).toBe(true);
    expect(existsSync(pinPaths(cg.path, auto).services)).toBe(true);
    const a = await t.connect([{ host: S.VIP, port: 80 }], 30);
    expect(a.filter((x) => !x.ok)).toEqual([]);
    expect(new Set(a.map((x) => x.backend))).toEqual(new Set(t.backends.map((b) => b.name)));
    const cap = await createBpfDataplane({ cgroup: cg.path }).detect(); // ServiceProxy caches its detect()
    expect(cap.notes).toContain(`bpffs: ${auto} (a private one svcproxy mounted)`);
  });

  it('cleanup of one instance keeps the mount while another instance still pins there', async () => {
    const other = TestCgroup.create('svp-bpffs-2');
    const topo = await Topology.create({ backends: 1, servers: false });
    try {
      const p2 = await open({ mode: 'bpf', netns: topo.node, cgroup: other.path });
      await p2.apply(oneService());
      expect(existsSync(pinPaths(other.path, auto).services)).toBe(true);
      await p2.cleanup();
      await p2.close();
      expect(isBpffs(auto)).toBe(true);
      expect(existsSync(pinPaths(cg.path, auto).services)).toBe(true);
    } finally {
      await other.remove();
      await topo.destroy();
    }
  });

  it('svcproxy cleanup from a new process unmounts it and removes the directory', async () => {
    const r = await run(process.execPath, [bin, 'cleanup', '--mode', 'bpf', '--cgroup', cg.path], { env: { ...process.env, SVCPROXY_BPFFS: auto } });
    expect(r.stdout).toContain('bpf: cleaned up');
    expect(isBpffs(auto)).toBe(false);
    expect(existsSync(auto)).toBe(false);
    const a = await t.connect([{ host: S.VIP, port: 80 }], 1, 500);
    expect(a[0]!.ok).toBe(false); // the programs are gone with the pins
  });
});

describe('bpf mode never unmounts or mounts a bpffs it did not mount', () => {
  let cg: TestCgroup;
  let work: string;
  let topo: Topology;

  beforeAll(async () => {
    cg = TestCgroup.create('svp-bpffs-own');
    work = mkdtempSync(join(tmpdir(), 'svp-bpffs-path-'));
    topo = await Topology.create({ backends: 1, servers: false });
  });
  afterAll(async () => {
    await topo?.destroy();
    await cg?.remove();
    rmSync(work, { recursive: true, force: true });
  });

  it('auto over an existing bpffs: pins there, cleanup leaves it mounted', async () => {
    const own = await mountPrivateBpffs();
    process.env.SVCPROXY_BPFFS = own.path;
    try {
      const p = await open({ mode: 'bpf', netns: topo.node, cgroup: cg.path, bpffs: 'auto' });
      await p.apply(oneService());
      expect(existsSync(pinPaths(cg.path, own.path).services)).toBe(true);
      expect(existsSync(join(own.path, MARK))).toBe(false);
      await p.cleanup();
      await p.close();
      expect(isBpffs(own.path)).toBe(true);
      expect(readdirSync(own.path).filter((f) => !f.endsWith('.debug'))).toEqual([]);
    } finally {
      delete process.env.SVCPROXY_BPFFS;
      await own.unmount();
    }
  });

  it('a load that fails after auto mounted a bpffs unmounts it again', async () => {
    const auto = join(work, 'failed-load');
    const bogus = join(work, 'bogus.bpf.o');
    writeFileSync(bogus, 'not an ELF object');
    process.env.SVCPROXY_BPFFS = auto;
    process.env.SVCPROXY_BPF_OBJECT = bogus;
    try {
      const p = await open({ mode: 'bpf', netns: topo.node, cgroup: cg.path });
      await expect(p.apply(oneService())).rejects.toBeInstanceOf(SvcproxyError);
      await p.close();
      expect(isBpffs(auto)).toBe(false);
      expect(existsSync(auto)).toBe(false);
    } finally {
      delete process.env.SVCPROXY_BPFFS;
      delete process.env.SVCPROXY_BPF_OBJECT;
      while (isBpffs(auto)) await sh(['umount', auto]);
    }
  });

  it('an explicit PATH that is no bpffs is refused, and nothing is mounted or attached', async () => {
    const dir = join(work, 'plain');
    mkdirSync(dir);
    const p = await open({ mode: 'bpf', netns: topo.node, cgroup: cg.path, bpffs: dir });
    expect((await p.detect()).reason).toBe(`no bpffs mounted at ${dir} (mount -t bpf bpffs ${dir}, or use --bpffs auto)`);
    const err = await p.apply(oneService()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SvcproxyError);
    expect(err).toMatchObject({ code: 'ENOMODE', mode: 'bpf' });
    expect(isBpffs(dir)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
    expect((await sh(['bpftool', '-j', 'cgroup', 'show', cg.path])).trim() || '[]').toBe('[]');
    await p.close();
  });
});
