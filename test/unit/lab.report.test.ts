import { describe, expect, it } from 'vitest';
import { renderHtml } from '../../src/lab/html.js';
import { kernelMemoryKiB } from '../../src/lab/machine.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KEPT_MARKER, renderMarkdown, writeMarkdown } from '../../src/lab/markdown.js';
import { labServices, vipOf, withLastEndpointToggled, serviceName } from '../../src/lab/services.js';
import { median, percentile, ratio, slopePerService } from '../../src/lab/stats.js';
import { comparison, growthLabel, rowsOf, unmeasured } from '../../src/lab/summary.js';
import { lineChart, niceTicks } from '../../src/lab/svg.js';
import { consoleReport } from '../../src/lab/table.js';
import { checkTargets } from '../../src/lab/targets.js';
import { umlPlan } from '../../src/lab/uml.js';
import { flatten } from '../../src/plan/flatten.js';
import { fixture, lat, point } from './lab.fixture.js';
import { medianOfRounds } from '../../src/lab/loadgen.js';
import { traitsOf } from '../../src/dataplanes/traits.js';

describe('lab statistics', () => {
  it('takes nearest-rank percentiles like svp-load does', () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 99)).toBe(99);
    expect(percentile(v, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([1, 2, 3, 4])).toBe(2);
    expect(percentile([], 50)).toBeNaN();
  });

  it('computes ratios only against a usable baseline', () => {
    expect(ratio(60, 40)).toBe(1.5);
    expect(ratio(60, 0)).toBeUndefined();
    expect(ratio(undefined, 40)).toBeUndefined();
    expect(ratio(NaN, 40)).toBeUndefined();
  });

  it('fits the growth per service (O(n) vs O(1))', () => {
    expect(slopePerService([{ services: 0, value: 10 }, { services: 1000, value: 30 }])).toBeCloseTo(0.02);
    expect(slopePerService([{ services: 5, value: 1 }])).toBeUndefined();
    const f = fixture().runs[0]!.modes;
    expect(growthLabel(f[0]!.points, (p) => p.latency.last.p50_us)).toBe("grows: +19.93 us per 1k services (O(n))");
    expect(growthLabel(f[1]!.points, (p) => p.latency.last.p50_us)).toMatch(/^flat: \+0\.00 us per 1k services \(O\(1\)\)$/);
  });
});

describe('lab service sets', () => {
  it('builds N services x E endpoints with unique VIPs, the last one last in key order', () => {
    const svcs = labServices(300, 3);
    expect(svcs).toHaveLength(301); // + the iperf3 service
    expect(new Set(svcs.map((s) => s.clusterIPs[0])).size).toBe(301);
    expect(vipOf(0)).toBe('10.96.0.1');
    expect(vipOf(255)).toBe('10.96.1.0');
    const states = flatten(svcs, { families: [4] });
    expect(states.at(-1)!.name).toBe(serviceName(299));
    expect(states.at(-1)!.internal).toHaveLength(3);
  });

  it('toggles exactly one endpoint, sharing the other services', () => {
    const svcs = labServices(10, 4);
    const t = withLastEndpointToggled(svcs, false);
    expect(t[3]).toBe(svcs[3]);
    expect(t.at(-1)!.endpoints.filter((e) => !e.ready)).toHaveLength(1);
    expect(svcs.at(-1)!.endpoints.every((e) => e.ready)).toBe(true);
  });

  it('refuses sizes it cannot address, naming the field', () => {
    expect(() => labServices(0, 4)).toThrow(/services: must be/);
    expect(() => labServices(70_000, 4)).toThrow(/services: must be/);
    expect(() => labServices(10, 0)).toThrow(/endpoints: must be/);
  });
});

describe('lab summary and reports', () => {
  it('takes every ratio against the direct path of the same kernel and origin', () => {
    const rows = rowsOf(fixture());
    const ipt30k = rows.find((r) => r.mode === 'iptables' && r.where === 'host' && r.point.services === 30000)!;
    expect(ipt30k.p50LastRatio).toBe(16); // 640 / 40
    expect(ipt30k.p99LastRatio).toBe(16); // 1280 / 80
    expect(ipt30k.rateRatio).toBe(0.5);
    expect(ipt30k.throughputRatio).toBe(0.5);
    const bpf = rows.find((r) => r.mode === 'bpf')!;
    expect(bpf.direct!.origin).toBe('node');
    expect(rows.filter((r) => r.where === 'uml')).toHaveLength(2);
  });

  it('takes latency ratios against the direct path measured just before the point when there is one', () => {
    const r = fixture();
    const p = r.runs[0]!.modes[0]!.points[2]!;
    p.latency.directBefore = lat(80, 160);
    const row = rowsOf(r).find((x) => x.point === p)!;
    expect(row.p50LastRatio).toBe(8); // 640 / 80, not / 40
    expect(row.p99LastRatio).toBe(8);
    expect(row.rateRatio).toBe(0.5); // rate still against the run's direct path
  });

  it('lists modes that were not measured with their reason', () => {
    const u = unmeasured(fixture());
    expect(u).toEqual([{ where: 'host', kernel: '6.18.0', mode: 'ipvs', reason: 'host kernel: no IPVS; measured inside User-Mode Linux instead' }]);
  });

  it('builds the aspect-by-mode comparison at the largest size measured', () => {
    const c = comparison(fixture())!;
    expect(c.header).toEqual(['Aspect (ratio: vs direct path, no rules)', 'iptables', 'nftables', 'bpf', 'iptables (uml 6.1.176)', 'ipvs (uml 6.1.176)']);
    expect(c.services).toBe(30000);
    const row = (name: string) => c.rows.find((r) => r[0] === name)!;
    // UML only reached 1 service: its columns say so
    expect(row('Measured at (services x endpoints)')).toEqual(['Measured at (services x endpoints)', '30k x 4', '30k x 4', '30k x 4', '1 x 4', '1 x 4']);
    expect(row('New connection p50, last service')[1]).toBe('640 us (16.00x)');
    expect(row('Lookup cost (p50, last service)')[1]).toMatch(/O\(n\)/);
    expect(row('Lookup cost (p50, last service)')[2]).toMatch(/O\(1\)/);
    expect(row('Full sync from empty')[2]).toBe('600 ms (kernel 300 ms)');
  });

  it('takes each percentile\'s median over latency rounds (one fast or slow round sets nothing)', () => {
    const b = medianOfRounds([lat(50, 900), lat(70, 120), lat(60, 130)]);
    expect(b.p50_us).toBe(60);
    expect(b.p99_us).toBe(130);
    expect(b.rounds_p50_us).toEqual([50, 70, 60]);
    expect(b.rounds_p99_us).toEqual([900, 120, 130]);
  });

  it('prints a console table with every mode and the reason for the missing one', () => {
    const text = consoleReport(fixture());
    expect(text).toContain('┌');
    for (const m of ['iptables', 'nftables', 'bpf', 'ipvs (uml 6.1.176)']) expect(text).toContain(m);
    expect(text).toContain('ipvs (host 6.18.0): host kernel: no IPVS');
  });

  it('renders report.html with inline SVG charts and no network reference', () => {
    const html = renderHtml(fixture());
    expect(html.startsWith('<!doctype html>')).toBe(true);
    // five charts per kernel: the fixture has a host run and a UML run
    expect((html.match(/<svg /g) ?? []).length).toBe(10);
    expect(html).toContain('Full sync time (from empty) (host 6.18.0)');
    expect(html).toContain('Full sync time (from empty) (uml 6.1.176)');
    expect(html).toContain('New-connection latency p50, last service');
    expect(html).toContain('Full sync time (from empty)');
    expect(html).not.toMatch(/<script|<link|src="http|href="http/);
    // one line per mode measured under that kernel, plus dashed direct lines
    const hostP50 = html.split('<svg ')[1]!;
    expect((hostP50.match(/<path /g) ?? []).length).toBe(3 + 2);
    expect(hostP50).toContain('stroke-dasharray');
    expect(hostP50).not.toContain('uml');
    const umlP50 = html.split('<svg ')[6]!;
    expect(umlP50).toContain('New-connection latency p50, last service (uml 6.1.176)');
    expect((umlP50.match(/<path /g) ?? []).length).toBeGreaterThanOrEqual(2);
  });

  it('escapes what goes into HTML', () => {
    const r = fixture();
    r.command = 'svcproxy lab <script>alert(1)</script>';
    expect(renderHtml(r)).not.toContain('<script>');
  });

  it('checks the mode issues\' targets honestly', () => {
    const t = checkTargets(fixture());
    const by = (re: RegExp) => t.find((x) => re.test(x.claim))!;
    expect(by(/nftables: full sync/).status).toBe('met'); // 600 ms, iptables 800 ms
    expect(by(/nftables: one endpoint change/).status).toBe('met'); // 3 ms, 1.5x of 1k
    expect(by(/nftables: new-connection/).status).toBe('met'); // 44/40 = 1.1x
    expect(by(/bpf: new-connection/).status).toBe('met'); // 41/40
    expect(by(/bpf: full sync/).status).toBe('not met'); // 700 ms > 500 ms
    expect(by(/bpf: one endpoint change/).status).toBe('met');
    expect(by(/ipvs: figures measured/).status).toBe('met');
    // the UML run has one size per mode: IPVS's 30k claims are not measured, not assumed
    for (const re of [/ipvs: full sync/, /ipvs: one endpoint change/, /ipvs: new-connection/, /ipvs: iptables in the same boot/]) expect(by(re).status).toBe('not measured');
    const uml = fixture();
    uml.runs[1]!.modes = [
      { mode: 'iptables', usable: true, versions: {}, origin: 'client', points: [point(1, 100, 30), point(1000, 130, 300), point(30000, 700, 9000)] },
      { mode: 'ipvs', usable: true, versions: {}, origin: 'client', points: [point(1000, 44, 2000, 1), point(30000, 46, 9000, 2.5)] },
    ];
    const u = checkTargets(uml);
    const byU = (re: RegExp) => u.find((x) => re.test(x.claim))!;
    expect(byU(/ipvs: full sync/).status).toBe('met');
    expect(byU(/ipvs: one endpoint change/)).toMatchObject({ status: 'not met', measured: '2.50 ms at 30k (kernel 1.25 ms), 2.50x of 1k (1.00 ms)' }); // 2.5x > 2x
    expect(byU(/ipvs: new-connection/).status).toBe('met'); // 46/40 = 1.15x
    expect(byU(/ipvs: iptables in the same boot/).status).toBe('met');
    const small = fixture();
    small.runs[0]!.modes[1]!.points = [point(1, 44, 5)];
    expect(checkTargets(small).find((x) => /nftables: full sync/.test(x.claim))!.status).toBe('not measured');
  });

  it('writes BENCHMARKS.md with the command, the machine and the targets', () => {
    const md = renderMarkdown(fixture());
    expect(md).toContain('svcproxy lab --services 1,1000,30000');
    expect(md).toContain('2 CPUs');
    expect(md).toContain('kernel 6.18.0');
    expect(md).toMatch(/\| bpf: full sync of 30k x 4 <= 0.5 s \| 700 ms \(kernel 350 ms\) \| not met \|/);
    expect(md).toContain('## Not measured');
  });

  it('rewriting BENCHMARKS.md keeps the hand-run section after its marker', () => {
    const dir = mkdtempSync(join(tmpdir(), 'svp-md-'));
    try {
      const file = join(dir, 'BENCHMARKS.md');
      writeFileSync(file, `# old\nold figures\n${KEPT_MARKER}\n## By hand\nkept\n`);
      writeMarkdown(file, fixture());
      const md = readFileSync(file, 'utf8');
      expect(md).not.toContain('old figures');
      expect(md).toContain('svcproxy lab --services 1,1000,30000');
      expect(md.endsWith(`${KEPT_MARKER}\n## By hand\nkept\n`)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('lab odds and ends', () => {
  it('draws nice axis ticks', () => {
    expect(niceTicks(640)).toEqual([0, 200, 400, 600, 800]);
    expect(niceTicks(0)).toEqual([0, 1]);
    expect(niceTicks(1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });

  it('draws a chart with one path per series', () => {
    const svg = lineChart({ title: 't<', xLabel: 'x', yLabel: 'y', logX: true, series: [{ name: 'a', points: [{ x: 1, y: 1 }, { x: 1000, y: 2 }] }] });
    expect(svg).toContain('t&lt;');
    expect((svg.match(/<path /g) ?? []).length).toBe(1);
    expect((svg.match(/<circle /g) ?? []).length).toBe(2);
  });

  it('reads kernel memory from meminfo fields', () => {
    expect(kernelMemoryKiB('MemTotal: 5 kB\nSlab:  100 kB\nVmallocUsed: 20 kB\nPercpu: 3 kB\n')).toBe(123);
  });

  it('plans User-Mode Linux only when IPVS exists but the host kernel lacks it', () => {
    const cap = (reason: string) => [{ mode: 'ipvs' as const, usable: false, reason, versions: {}, traits: traitsOf('ipvs'), families: [] }];
    expect(umlPlan(['ipvs'], cap('not implemented yet in this svcproxy version'), true, undefined).modes).toEqual([]);
    expect(umlPlan(['ipvs'], cap('not implemented yet'), true, undefined).reasons.get('ipvs')).toMatch(/^not measured: not implemented/);
    expect(umlPlan(['ipvs'], cap('the kernel has no IPVS'), true, undefined).modes).toEqual(['iptables', 'ipvs']);
    expect(umlPlan(['ipvs'], cap('the kernel has no IPVS'), false, undefined).modes).toEqual([]);
    expect(umlPlan(['ipvs'], cap('the kernel has no IPVS'), true, 'no linux.uml').reasons.get('ipvs')).toMatch(/unavailable: no linux.uml/);
    expect(umlPlan(['iptables'], cap('x'), true, undefined).modes).toEqual([]);
  });
});
