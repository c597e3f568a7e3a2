/** The console tables printed at the end of a lab run (cli-table3). */
import Table from 'cli-table3';
import { comparison, DETAIL_HEADER, detailCells, DIRECT_HEADER, directCells, rowsOf, unmeasured } from './summary.js';
import type { LabResults } from './types.js';

function render(header: string[], rows: string[][]): string {
  const t = new Table({ head: header, style: { head: [], border: [] }, wordWrap: true });
  for (const r of rows) t.push(r);
  return t.toString();
}

export function consoleReport(results: LabResults): string {
  const out: string[] = [];
  const cmp = comparison(results);
  if (cmp) {
    out.push(`Comparison at ${cmp.services} services x ${cmp.endpoints} endpoints (ratios against the direct path, no rules, same run):`);
    out.push(render(cmp.header, cmp.rows));
  } else out.push('No mode was measured.');
  const rows = rowsOf(results);
  if (rows.length > 1) out.push('Every point:', render(DETAIL_HEADER, rows.map(detailCells)));
  const directs = results.runs.flatMap((run) => run.directs.map((d) => directCells(run, d)));
  if (directs.length) out.push(render(DIRECT_HEADER, directs));
  for (const u of unmeasured(results)) out.push(`${u.mode} (${u.where} ${u.kernel}): ${u.reason}`);
  return out.join('\n');
}
