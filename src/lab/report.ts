/** Write a run's results.json and report.html into a directory. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderHtml } from './html.js';
import type { LabResults } from './types.js';

export function writeReport(results: LabResults, dir: string): { json: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'results.json');
  const html = join(dir, 'report.html');
  writeFileSync(json, JSON.stringify(results, null, 2) + '\n');
  writeFileSync(html, renderHtml(results));
  return { json, html };
}
