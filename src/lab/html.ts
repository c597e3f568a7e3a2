/** report.html: one self-contained page (inline CSS and SVG, no script, no network). */
import { reportCharts } from './charts.js';
import { comparison, DETAIL_HEADER, detailCells, DIRECT_HEADER, directCells, rowsOf, unmeasured } from './summary.js';
import { escapeXml } from './svg.js';
import { checkTargets } from './targets.js';
import { fmtKiB } from './stats.js';
import { METHOD_NOTES } from './notes.js';
import type { LabResults } from './types.js';

const esc = escapeXml;

function table(header: string[], rows: string[][], cls = ''): string {
  const th = header.map((h) => `<th>${esc(h)}</th>`).join('');
  const trs = rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table class="${cls}"><thead><tr>${th}</tr></thead><tbody>\n${trs}\n</tbody></table>`;
}

export function renderHtml(results: LabResults): string {
  const m = results.machine;
  const cmp = comparison(results);
  const missing = unmeasured(results);
  const directs = results.runs.flatMap((run) => run.directs.map((d) => directCells(run, d)));
  const targets = checkTargets(results);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>svcproxy lab report</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#222;max-width:1180px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;font-size:12.5px;margin:8px 0}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td:first-child{font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:12px}.chart{border:1px solid #ddd}
.met{color:#176e2c}.notmet{color:#a11}.none{color:#777}
code{background:#f5f5f5;padding:1px 4px}small{color:#666}
</style></head><body>
<h1>svcproxy lab: Service forwarding modes, measured</h1>
<p><code>${esc(results.command)}</code><br>
<small>${esc(results.startedAt)} to ${esc(results.finishedAt)} on ${esc(m.hostname)}: ${m.nproc} CPUs (${esc(m.cpuModel)}), ${fmtKiB(m.memTotalKiB)} RAM,
kernel ${esc(m.kernel)}, Node ${esc(m.node)}, svcproxy ${esc(m.svcproxy)}</small></p>
<h2>Comparison${cmp ? ` at ${cmp.services} services x ${cmp.endpoints} endpoints` : ''}</h2>
${cmp ? table(cmp.header, cmp.rows, 'cmp') : '<p>No mode was measured.</p>'}
${missing.length ? `<h2>Not measured</h2><ul>${missing.map((u) => `<li><b>${esc(u.mode)}</b> (${esc(u.where)} ${esc(u.kernel)}): ${esc(u.reason)}</li>`).join('')}</ul>` : ''}
<h2>Charts</h2>
<div class="charts">
${reportCharts(results).join('\n')}
</div>
<h2>Every point</h2>
${table(DETAIL_HEADER, rowsOf(results).map(detailCells))}
<h2>Direct path (the baseline of every ratio)</h2>
${table(DIRECT_HEADER, directs)}
<h2>Targets from the mode issues</h2>
<table><thead><tr><th>claim</th><th>measured</th><th>status</th></tr></thead><tbody>
${targets.map((t) => `<tr><td>${esc(t.claim)}</td><td>${esc(t.measured)}</td><td class="${t.status === 'met' ? 'met' : t.status === 'not met' ? 'notmet' : 'none'}">${esc(t.status)}</td></tr>`).join('\n')}
</tbody></table>
<h2>How it was measured</h2>
<ul>${METHOD_NOTES.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>
<p><small>Raw figures: results.json next to this file.</small></p>
</body></html>
`;
}
