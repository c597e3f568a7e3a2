/** Hand-written inline SVG line charts: no library, no network, opens anywhere. */

export interface Series {
  name: string;
  points: { x: number; y: number }[];
  dashed?: boolean;
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** logarithmic x axis (services span 1..30000) */
  logX?: boolean;
  width?: number;
  height?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

export const escapeXml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** 1, 2, 5 x 10^k steps giving about `count` ticks from 0 to max. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1]! < max) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

const fmtTick = (v: number) => (v >= 1000 && v % 1000 === 0 ? `${v / 1000}k` : String(Number(v.toPrecision(4))));

export function lineChart(spec: ChartSpec): string {
  const W = spec.width ?? 560;
  const H = spec.height ?? 320;
  const m = { left: 64, right: 16, top: 34, bottom: 48 };
  const legendH = 18 * Math.ceil(spec.series.length / 2);
  const plotW = W - m.left - m.right;
  const plotH = H - m.top - m.bottom - legendH;
  const all = spec.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xsRaw = [...new Set(all.map((p) => p.x))].sort((a, b) => a - b);
  const tx = (x: number) => (spec.logX ? Math.log10(Math.max(1, x)) : x);
  const xmin = xsRaw.length ? tx(xsRaw[0]!) : 0;
  const xmax = xsRaw.length ? tx(xsRaw[xsRaw.length - 1]!) : 1;
  const yTicks = niceTicks(Math.max(0, ...all.map((p) => p.y)));
  const ymax = yTicks[yTicks.length - 1]!;
  const px = (x: number) => m.left + (xmax === xmin ? plotW / 2 : ((tx(x) - xmin) / (xmax - xmin)) * plotW);
  const py = (y: number) => m.top + plotH - (ymax === 0 ? 0 : (y / ymax) * plotH);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeXml(spec.title)}">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(spec.title)}</text>`);
  for (const t of yTicks) {
    const y = py(t).toFixed(1);
    parts.push(`<line x1="${m.left}" x2="${m.left + plotW}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.left - 6}" y="${y}" dy="4" text-anchor="end" font-size="11">${fmtTick(t)}</text>`);
  }
  for (const x of xsRaw) {
    const X = px(x).toFixed(1);
    parts.push(`<line x1="${X}" x2="${X}" y1="${m.top}" y2="${m.top + plotH}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${X}" y="${m.top + plotH + 16}" text-anchor="middle" font-size="11">${fmtTick(x)}</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`);
  parts.push(`<text x="${m.left + plotW / 2}" y="${m.top + plotH + 34}" text-anchor="middle" font-size="12">${escapeXml(spec.xLabel)}</text>`);
  parts.push(
    `<text transform="translate(16 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(spec.yLabel)}</text>`,
  );
  spec.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
    if (pts.length === 0) return;
    const d = pts.map((p, j) => `${j === 0 ? 'M' : 'L'}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const p of pts) {
      parts.push(
        `<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3.5" fill="${color}"><title>${escapeXml(`${s.name}: ${fmtTick(p.x)} -> ${Number(p.y.toPrecision(4))}`)}</title></circle>`,
      );
    }
    const lx = m.left + (i % 2) * (plotW / 2);
    const ly = H - legendH + 18 * Math.floor(i / 2) + 2;
    parts.push(`<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    parts.push(`<text x="${lx + 28}" y="${ly}" dy="4" font-size="11">${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
