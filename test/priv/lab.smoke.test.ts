/**
 * The lab end to end at tiny sizes on the real kernel: iptables mode, real
 * connections through real VIPs, results.json complete, report.html with
 * its charts, and nothing of the sandbox left behind (also after SIGINT).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLab } from '../../src/lab/run.js';
import type { LabResults, LatencySummary } from '../../src/lab/types.js';
import { packageRoot } from '../../src/native/binding.js';

const netnsList = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });

function expectLatency(s: LatencySummary, samples: number) {
  expect(s.samples + s.errors).toBe(samples);
  expect(s.errors).toBeLessThanOrEqual(samples * 0.01);
  expect(s.p50_us).toBeGreaterThan(0);
  expect(s.min_us).toBeLessThanOrEqual(s.p50_us);
  expect(s.p50_us).toBeLessThanOrEqual(s.p99_us);
  expect(s.p99_us).toBeLessThanOrEqual(s.max_us);
}

describe('svcproxy lab (iptables, tiny sizes)', () => {
  let dir: string;
  let results: LabResults;
  const phases: string[] = [];

  beforeAll(async () => {
    execFileSync('make', ['-s', '-C', join(packageRoot, 'tools')]);
    dir = mkdtempSync(join(tmpdir(), 'svp-lab-smoke-'));
    results = await runLab({
      services: [1, 50],
      endpoints: [2],
      modes: ['iptables', 'ipvs'],
      samples: 200,
      rateSeconds: 0.5,
      iperfSeconds: 1,
      changes: 3,
      out: dir,
      uml: false,
      onProgress: (p) => phases.push(p.phase),
    });
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('writes a complete results.json', () => {
    const onDisk = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as LabResults;
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(results)));
    expect(onDisk.schema).toBe('svcproxy-lab/1');
    expect(onDisk.machine.nproc).toBeGreaterThan(0);
    expect(onDisk.machine.kernel).toBe(readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim());
    expect(onDisk.runs).toHaveLength(1);
    const run = onDisk.runs[0]!;
    expect(run.where).toBe('host');
    expect(run.directs.map((d) => d.origin)).toEqual(['client']);
    expectLatency(run.directs[0]!.latency, 200);
    expect(run.directs[0]!.rate.per_second).toBeGreaterThan(100);
    expect(run.directs[0]!.throughput!.bitsPerSecond).toBeGreaterThan(1e6);

    const ipt = run.modes.find((m) => m.mode === 'iptables')!;
    expect(ipt.usable).toBe(true);
    expect(ipt.error).toBeUndefined();
    expect(ipt.points.map((p) => [p.services, p.endpoints])).toEqual([
      [1, 2],
      [50, 2],
    ]);
    for (const p of ipt.points) {
      expect(p.sync.wallMs).toBeGreaterThan(0);
      expect(p.sync.kernelMs).toBeGreaterThan(0);
      expect(p.sync.wallMs).toBeGreaterThanOrEqual(p.sync.kernelMs);
      expect(p.change.wallMs).toHaveLength(3);
      expect(p.change.written).toEqual([1, 1, 1]);
      for (const s of [p.latency.first, p.latency.last, p.latency.directLoaded, p.latency.directBefore!]) expectLatency(s, 200);
      expect(p.rate.connections).toBeGreaterThan(0);
      expect(p.throughput!.bitsPerSecond).toBeGreaterThan(1e6);
      expect(p.memory.rssKiB).toBeGreaterThan(1000);
    }
  });

  it('lists the mode it could not measure, with the reason', () => {
    const ipvs = results.runs[0]!.modes.find((m) => m.mode === 'ipvs')!;
    expect(ipvs.usable).toBe(false);
    expect(ipvs.points).toEqual([]);
    expect(ipvs.reason).toMatch(/not measured/);
  });

  it('renders report.html with the charts and tables', () => {
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect((html.match(/<svg /g) ?? []).length).toBe(5);
    expect(html).toContain('<td>iptables</td>');
    expect(html).toContain('Not measured');
    expect(html).not.toMatch(/<script|src="http|href="http/);
  });

  it('reported progress through every step', () => {
    expect(phases).toContain('direct from client: latency');
    expect(phases).toContain('iptables 50x2: latency, last service');
    expect(phases.at(-1)).toBe('done');
  });

  it('left nothing behind', () => {
    const sb = results.runs[0]!.sandbox!;
    expect(sb.namespaces.length).toBeGreaterThan(3);
    const live = netnsList();
    for (const ns of sb.namespaces) expect(live).not.toContain(ns);
  });

  it('removes the sandbox on SIGINT', async () => {
    const child = spawn(
      process.execPath,
      [join(packageRoot, 'bin', 'svcproxy.js'), 'lab', '--modes', 'iptables', '--services', '1', '--endpoints', '1', '--samples', '100000', '--no-progress', '--no-uml', '--out', join(dir, 'sigint')],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let err = '';
    const namespaces = await new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no sandbox line: ${err}`)), 30_000);
      child.stderr.on('data', (d) => {
        err += d;
        const m = /^sandbox: (.*)$/m.exec(err);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!.split(' '));
        }
      });
    });
    expect(netnsList()).toContain(namespaces[0]!);
    await new Promise((r) => setTimeout(r, 1500)); // inside the first measurement
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(130);
    const live = netnsList();
    for (const ns of namespaces) expect(live).not.toContain(ns);
    expect(existsSync(join(dir, 'sigint', 'results.json'))).toBe(false);
  });
});

describe('svcproxy lab: a full sync past its deadline', () => {
  it('aborts the kernel tool, keeps the smaller sizes, records why the rest is missing', async () => {
    const results = await runLab({
      services: [1, 20000],
      endpoints: [1],
      modes: ['iptables'],
      samples: 100,
      rateSeconds: 0.2,
      iperfSeconds: 0,
      changes: 1,
      syncTimeoutSeconds: 0.5,
      uml: false,
    });
    const run = results.runs[0]!;
    const ipt = run.modes[0]!;
    expect(ipt.points.map((p) => p.services)).toEqual([1]);
    expect(ipt.error).toMatch(/^full sync of 20000 x 1 did not finish within 0.5 s: aborted/);
    const live = netnsList();
    for (const ns of run.sandbox!.namespaces) expect(live).not.toContain(ns);
  });
});
