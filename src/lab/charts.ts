/**
 * The report's charts: figures against the number of services, one line per
 * mode; one set of charts per kernel (host and User-Mode Linux times differ
 * by an order of magnitude and are compared only within their own boot).
 */
import { directFor, modeLabel } from './summary.js';
import { lineChart, type Series } from './svg.js';
import type { DirectFigures, LabResults, Point } from './types.js';

function modeSeries(results: LabResults, pick: (p: Point) => number): Series[] {
  const multiE = results.options.endpoints.length > 1;
  const out: Series[] = [];
  for (const run of results.runs) {
    for (const m of run.modes) {
      for (const e of results.options.endpoints) {
        const pts = m.points.filter((p) => p.endpoints === e);
        if (pts.length === 0) continue;
        out.push({ name: modeLabel(run, m.mode) + (multiE ? ` x${e}` : ''), points: pts.map((p) => ({ x: p.services, y: pick(p) })) });
      }
    }
  }
  return out;
}

/** The direct path as a dashed flat line over the sizes measured. */
function directSeries(results: LabResults, pick: (d: DirectFigures) => number): Series[] {
  const out: Series[] = [];
  for (const run of results.runs) {
    for (const d of run.directs) {
      const used = run.modes.some((m) => m.origin === d.origin && m.points.length > 0 && directFor(run, m.origin) === d);
      if (!used) continue;
      const xs = results.options.services;
      const where = run.where === 'host' ? '' : ` (${run.where})`;
      out.push({ name: `direct from ${d.origin}${where}`, dashed: true, points: xs.map((x) => ({ x, y: pick(d) })) });
    }
  }
  return out;
}

export function reportCharts(results: LabResults): string[] {
  return results.runs.filter((run) => run.modes.some((m) => m.points.length > 0)).flatMap((run) => kernelCharts({ ...results, runs: [run] }, `${run.where} ${run.kernel}`));
}

function kernelCharts(results: LabResults, kernel: string): string[] {
  const x = 'services (log scale)';
  return [
    lineChart({
      title: `New-connection latency p50, last service (${kernel})`,
      xLabel: x,
      yLabel: 'microseconds',
      logX: true,
      series: [...modeSeries(results, (p) => p.latency.last.p50_us), ...directSeries(results, (d) => d.latency.p50_us)],
    }),
    lineChart({
      title: `New-connection latency p99, last service (${kernel})`,
      xLabel: x,
      yLabel: 'microseconds',
      logX: true,
      series: [...modeSeries(results, (p) => p.latency.last.p99_us), ...directSeries(results, (d) => d.latency.p99_us)],
    }),
    lineChart({ title: `Full sync time (from empty) (${kernel})`, xLabel: x, yLabel: 'milliseconds', logX: true, series: modeSeries(results, (p) => p.sync.wallMs) }),
    lineChart({
      title: `One endpoint change (median) (${kernel})`,
      xLabel: x,
      yLabel: 'milliseconds',
      logX: true,
      series: modeSeries(results, (p) => p.change.medianWallMs),
    }),
    lineChart({
      title: `Connections per second, last service (${kernel})`,
      xLabel: x,
      yLabel: 'connections/s',
      logX: true,
      series: [...modeSeries(results, (p) => p.rate.per_second), ...directSeries(results, (d) => d.rate.per_second)],
    }),
  ];
}
