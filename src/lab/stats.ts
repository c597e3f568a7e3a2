/** Small numeric helpers shared by the lab's measuring and reporting code. */

/** Nearest-rank percentile (the same definition svp-load uses). NaN for no data. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export const median = (values: readonly number[]): number => percentile(values, 50);

/** value / baseline; undefined when either is missing or the baseline is not positive. */
export function ratio(value: number | undefined, baseline: number | undefined): number | undefined {
  if (value === undefined || baseline === undefined || !Number.isFinite(value) || !Number.isFinite(baseline) || baseline <= 0) return undefined;
  return value / baseline;
}

/**
 * Growth of a figure with the number of services, per added service
 * (least-squares slope), to show O(n) against O(1) as measured.
 */
export function slopePerService(points: readonly { services: number; value: number }[]): number | undefined {
  if (points.length < 2) return undefined;
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.services, 0) / n;
  const my = points.reduce((s, p) => s + p.value, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.services - mx) * (p.value - my);
    sxx += (p.services - mx) ** 2;
  }
  return sxx === 0 ? undefined : sxy / sxx;
}

export const fmtMs = (ms: number | undefined): string =>
  ms === undefined || !Number.isFinite(ms) ? '-' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 10 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(2)} ms`;

export const fmtUs = (us: number | undefined): string =>
  us === undefined || !Number.isFinite(us) ? '-' : us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(0)} us`;

export const fmtRatio = (r: number | undefined): string => (r === undefined ? '-' : `${r.toFixed(2)}x`);

export const fmtRate = (perSecond: number | undefined): string =>
  perSecond === undefined ? '-' : perSecond >= 1000 ? `${(perSecond / 1000).toFixed(1)}k/s` : `${perSecond.toFixed(0)}/s`;

export const fmtBits = (bps: number | undefined): string =>
  bps === undefined ? '-' : bps >= 1e9 ? `${(bps / 1e9).toFixed(2)} Gbit/s` : `${(bps / 1e6).toFixed(0)} Mbit/s`;

export const fmtKiB = (kib: number | undefined): string =>
  kib === undefined ? '-' : Math.abs(kib) >= 1024 ? `${(kib / 1024).toFixed(1)} MiB` : `${kib.toFixed(0)} KiB`;

export const fmtCount = (n: number): string => (n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n));
