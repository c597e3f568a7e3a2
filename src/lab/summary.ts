/**
 * Results -> the figures every report shows: one row per mode and size, with
 * ratios against the direct path measured in the same run (same kernel, same
 * origin, no rules loaded), and the aspect-by-mode comparison table.
 */
import { ratio, slopePerService, fmtBits, fmtCount, fmtKiB, fmtMs, fmtRate, fmtRatio, fmtUs } from './stats.js';
import type { DirectFigures, KernelRun, LabResults, LatencySummary, ModeResult, Origin, Point } from './types.js';

export interface Row {
  where: KernelRun['where'];
  kernel: string;
  mode: string;
  origin: Origin;
  point: Point;
  direct?: DirectFigures;
  p50LastRatio?: number;
  p99LastRatio?: number;
  p50FirstRatio?: number;
  directLoadedRatio?: number;
  rateRatio?: number;
  throughputRatio?: number;
}

/** Latency baseline of a point: the direct path measured just before it, else the run's. */
export const latencyBaseline = (p: Point, direct: DirectFigures | undefined): LatencySummary | undefined => p.latency.directBefore ?? direct?.latency;

export const directFor = (run: KernelRun, origin: Origin): DirectFigures | undefined => run.directs.find((d) => d.origin === origin);

export function rowsOf(results: LabResults): Row[] {
  const rows: Row[] = [];
  for (const run of results.runs) {
    for (const m of run.modes) {
      const direct = directFor(run, m.origin);
      for (const p of m.points) {
        const base = latencyBaseline(p, direct);
        rows.push({
          where: run.where,
          kernel: run.kernel,
          mode: m.mode,
          origin: m.origin,
          point: p,
          direct,
          p50FirstRatio: ratio(p.latency.first.p50_us, base?.p50_us),
          p50LastRatio: ratio(p.latency.last.p50_us, base?.p50_us),
          p99LastRatio: ratio(p.latency.last.p99_us, base?.p99_us),
          directLoadedRatio: ratio(p.latency.directLoaded.p50_us, base?.p50_us),
          rateRatio: ratio(p.rate.per_second, direct?.rate.per_second),
          throughputRatio: ratio(p.throughput?.bitsPerSecond, direct?.throughput?.bitsPerSecond),
        });
      }
    }
  }
  return rows;
}

export interface Unmeasured {
  where: KernelRun['where'];
  kernel: string;
  mode: string;
  reason: string;
}

/** Modes without figures (or stopped part-way), with the reason detect() or the run gave. */
export function unmeasured(results: LabResults): Unmeasured[] {
  const out: Unmeasured[] = [];
  for (const run of results.runs) {
    for (const m of run.modes) {
      if (m.error) out.push({ where: run.where, kernel: run.kernel, mode: m.mode, reason: `stopped: ${m.error}` });
      else if (m.points.length === 0) out.push({ where: run.where, kernel: run.kernel, mode: m.mode, reason: m.reason ?? 'not usable' });
    }
  }
  return out;
}

/** "iptables" on the host, "ipvs (uml 6.1.176)" inside User-Mode Linux. */
export const modeLabel = (run: Pick<KernelRun, 'where' | 'kernel'>, mode: string): string => (run.where === 'host' ? mode : `${mode} (${run.where} ${run.kernel})`);

/** How a figure grows with services: the measured version of the articles' O(n) / O(1) row. */
export function growthLabel(points: readonly Point[], pick: (p: Point) => number): string {
  const uniq = points.filter((p, i) => points.findIndex((q) => q.services === p.services) === i);
  const slope = slopePerService(uniq.map((p) => ({ services: p.services, value: pick(p) })));
  if (slope === undefined) return '- (one size)';
  const span = Math.max(...uniq.map((p) => p.services)) - Math.min(...uniq.map((p) => p.services));
  const base = Math.min(...uniq.map(pick));
  const grown = slope * span;
  const per1k = `${slope * 1000 >= 0 ? '+' : ''}${(slope * 1000).toFixed(2)} us per 1k services`;
  return grown > Math.max(5, 0.15 * base) ? `grows: ${per1k} (O(n))` : `flat: ${per1k} (O(1))`;
}

export interface Comparison {
  /** the size the figures are taken at */
  services: number;
  endpoints: number;
  header: string[];
  rows: string[][];
}

/** Aspect x mode, like the reading's iptables-vs-IPVS tables, at the largest size measured. */
export function comparison(results: LabResults): Comparison | undefined {
  const measured: { run: KernelRun; m: ModeResult }[] = [];
  for (const run of results.runs) for (const m of run.modes) if (m.points.length > 0) measured.push({ run, m });
  if (measured.length === 0) return undefined;
  const endpoints = results.options.endpoints[results.options.endpoints.length - 1]!;
  // The largest size measured; a mode that stopped short shows its largest (the first row says which).
  const services = Math.max(...measured.flatMap(({ m }) => m.points.filter((p) => p.endpoints === endpoints).map((p) => p.services)));
  const at = (m: ModeResult) =>
    m.points.find((p) => p.services === services && p.endpoints === endpoints) ??
    m.points.filter((p) => p.endpoints === endpoints).at(-1) ??
    m.points.at(-1)!;
  const vs = (v: string, r: number | undefined) => (r === undefined ? v : `${v} (${fmtRatio(r)})`);
  const cols = measured.map(({ run, m }) => {
    const p = at(m);
    const d = directFor(run, m.origin);
    const sameE = m.points.filter((q) => q.endpoints === endpoints);
    return [
      `${fmtCount(p.services)} x ${p.endpoints}`,
      `${fmtMs(p.sync.wallMs)} (kernel ${fmtMs(p.sync.kernelMs)})`,
      `${fmtMs(p.change.medianWallMs)} (kernel ${fmtMs(p.change.medianKernelMs)})`,
      vs(fmtUs(p.latency.first.p50_us), ratio(p.latency.first.p50_us, latencyBaseline(p, d)?.p50_us)),
      vs(fmtUs(p.latency.last.p50_us), ratio(p.latency.last.p50_us, latencyBaseline(p, d)?.p50_us)),
      vs(fmtUs(p.latency.last.p99_us), ratio(p.latency.last.p99_us, latencyBaseline(p, d)?.p99_us)),
      vs(fmtUs(p.latency.directLoaded.p50_us), ratio(p.latency.directLoaded.p50_us, latencyBaseline(p, d)?.p50_us)),
      growthLabel(sameE, (q) => q.latency.last.p50_us),
      vs(fmtRate(p.rate.per_second), ratio(p.rate.per_second, d?.rate.per_second)),
      p.throughput ? vs(fmtBits(p.throughput.bitsPerSecond), ratio(p.throughput.bitsPerSecond, d?.throughput?.bitsPerSecond)) : '-',
      `RSS ${fmtKiB(p.memory.rssKiB)}, kernel ${p.memory.kernelDeltaKiB >= 0 ? '+' : ''}${fmtKiB(p.memory.kernelDeltaKiB)}`,
      `${run.where} ${run.kernel}`,
    ];
  });
  const aspects = [
    'Measured at (services x endpoints)',
    'Full sync from empty',
    'One endpoint change (median)',
    'New connection p50, first service',
    'New connection p50, last service',
    'New connection p99, last service',
    'Direct path p50 while rules loaded',
    'Lookup cost (p50, last service)',
    'Connections/s, last service',
    'Throughput through a VIP (iperf3)',
    'Memory after sync',
    'Kernel',
  ];
  return {
    services,
    endpoints,
    header: ['Aspect (ratio: vs direct path, no rules)', ...measured.map(({ run, m }) => modeLabel(run, m.mode))],
    rows: aspects.map((a, i) => [a, ...cols.map((c) => c[i]!)]),
  };
}

export const DETAIL_HEADER = [
  'mode',
  'kernel',
  'services',
  'endp.',
  'full sync',
  'change (median)',
  'p50 first',
  'p50 last',
  'p99 last',
  'p50 last vs direct',
  'p99 last vs direct',
  'direct loaded vs direct',
  'conn/s (vs direct)',
  'iperf3 (vs direct)',
  'RSS',
];

export function detailCells(r: Row): string[] {
  const p = r.point;
  return [
    r.mode,
    `${r.where} ${r.kernel}`,
    String(p.services),
    String(p.endpoints),
    fmtMs(p.sync.wallMs),
    fmtMs(p.change.medianWallMs),
    fmtUs(p.latency.first.p50_us),
    fmtUs(p.latency.last.p50_us),
    fmtUs(p.latency.last.p99_us),
    fmtRatio(r.p50LastRatio),
    fmtRatio(r.p99LastRatio),
    fmtRatio(r.directLoadedRatio),
    `${fmtRate(p.rate.per_second)} (${fmtRatio(r.rateRatio)})`,
    p.throughput ? `${fmtBits(p.throughput.bitsPerSecond)} (${fmtRatio(r.throughputRatio)})` : '-',
    fmtKiB(p.memory.rssKiB),
  ];
}

export const DIRECT_HEADER = ['direct path (no rules)', 'kernel', 'p50', 'p99', 'conn/s', 'iperf3'];

export function directCells(run: KernelRun, d: DirectFigures): string[] {
  return [
    `from ${d.origin} namespace`,
    `${run.where} ${run.kernel}`,
    fmtUs(d.latency.p50_us),
    fmtUs(d.latency.p99_us),
    fmtRate(d.rate.per_second),
    d.throughput ? fmtBits(d.throughput.bitsPerSecond) : '-',
  ];
}
