/**
 * Crash recovery (shared by the host and UML suites): the CLI is SIGKILLed at random points of large syncs.
 * After each kill, a fresh process applies the desired state again; the
 * kernel must then hold exactly that state, and a service the syncs never
 * changed must have answered every connection throughout.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DataplaneOptions } from '../../src/dataplanes/types.js';
import { open } from '../../src/api/proxy.js';
import type { Mode } from '../../src/dataplanes/types.js';
import { parseServices } from '../../src/model/load.js';
import { diff } from '../../src/plan/diff.js';
import { mountPrivateBpffs, TestCgroup } from '../../src/sandbox/cgroup.js';
import { Topology } from '../../src/sandbox/topology.js';

const bin = new URL('../../bin/svcproxy.js', import.meta.url).pathname;
const STEADY = '10.96.0.1';

/** Two versions of a large set: endpoints move, a tenth of the services come and go; s0 never changes. */
function version(v: 0 | 1, backends: string[], SERVICES: number): string {
  const services = [];
  for (let i = 0; i < SERVICES; i++) {
    if (i > 0 && i % 10 === v + 1) continue;
    const ip = `10.96.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    const eps = i === 0 ? backends : v === 0 ? backends.slice(0, 2) : backends.slice(1);
    services.push({ name: `s${i}`, clusterIP: ip, ports: [{ port: 80, targetPort: 8080 }], endpoints: eps.map((address) => ({ address })) });
  }
  return JSON.stringify({ services });
}

/** The CLI's own children (iptables-restore...), so we can wait for them after the kill. */
function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

async function waitGone(pids: number[]): Promise<void> {
  for (let i = 0; i < 200 && pids.some((p) => existsSync(`/proc/${p}`)); i++) await new Promise((r) => setTimeout(r, 25));
}

export interface CrashOptions {
  modes: Mode[];
  services: number;
  kills: number;
  /** extra dataplane options and CLI flags, e.g. the iptables flavour */
  dataplane?: Partial<DataplaneOptions>;
  cliFlags?: string[];
  timeoutMs?: number;
}

export function describeCrashRecovery(o: CrashOptions): void {
  const SERVICES = o.services;
  const KILLS = o.kills;
  const dir = mkdtempSync(join(tmpdir(), 'svcproxy-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe.each<Mode>(o.modes)('crash recovery: %s', (mode) => {
    it(`converges after ${KILLS} SIGKILLs at random points of ${SERVICES}-service syncs, the unchanged service always answering`, { timeout: o.timeoutMs ?? 300_000 }, async () => {
      const t = await Topology.create({ backends: 3 });
      const cg = mode === 'bpf' ? TestCgroup.create('svp-crash') : undefined;
      const bpffs = mode === 'bpf' ? await mountPrivateBpffs() : undefined;
      const extra = [...(cg ? ['--cgroup', cg.path, '--bpffs', bpffs!.path] : []), ...(o.cliFlags ?? [])];
      const opts = { mode, netns: t.node, cgroup: cg?.path, bpffs: bpffs?.path, ...o.dataplane };
      try {
        const addrs = t.backends.map((b) => b.addresses[0]!);
        const files = [0, 1].map((v) => {
          const f = join(dir, `${mode}-v${v}.json`);
          writeFileSync(f, version(v as 0 | 1, addrs, SERVICES));
          return f;
        });
        const cli = (file: string) => spawn(process.execPath, [bin, 'apply', '-f', file, '--mode', mode, '--netns', t.node, ...extra], { stdio: 'ignore' });
        const finished = (c: ReturnType<typeof cli>) => new Promise<number | null>((r) => c.on('exit', (code) => r(code)));

        // A full sync, timed, to spread the kill points over a sync's length.
        const t0 = performance.now();
        expect(await finished(cli(files[0]!))).toBe(0);
        const span = performance.now() - t0;

        const load = await t.startLoad({ targets: [{ host: STEADY, port: 80 }], rate: 25, longLived: 2, cgroup: cg?.path });
        let killedMidway = 0;
        try {
          for (let k = 0; k < KILLS; k++) {
            const file = files[(k + 1) % 2]!;
            const child = cli(file);
            const exit = finished(child);
            await new Promise((r) => setTimeout(r, Math.random() * span));
            const orphans = childrenOf(child.pid!);
            if (child.exitCode === null) {
              child.kill('SIGKILL');
              killedMidway++;
            }
            await exit;
            await waitGone(orphans);
            // Restart: a new process reads the kernel back and reconciles.
            const proxy = await open(opts);
            try {
              const set = parseServices(readFileSync(file, 'utf8'));
              await proxy.apply(set);
              const left = diff(await proxy.desired(set), await proxy.read());
              expect(left.added.length + left.changed.length + left.removed.length, `after kill ${k}`).toBe(0);
            } finally {
              await proxy.close();
            }
          }
        } finally {
          var report = await load.stop();
        }
        expect(killedMidway).toBeGreaterThanOrEqual(KILLS / 2);
        expect(report.errors).toEqual({});
        expect(report.failed).toBe(0);
        expect(report.broken).toBe(0);
        expect(report.stalled).toBe(0);
        expect(report.connects).toBeGreaterThan(50);
      } finally {
        const p = await open(opts).catch(() => undefined);
        await p?.cleanup().catch(() => {});
        await t.destroy();
        await cg?.remove();
        await bpffs?.unmount();
      }
    });
  });
}
