/** lab: measure the modes side by side in a closed sandbox, with a report. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { MODES, type Mode } from '../../dataplanes/types.js';
import { invalidField } from '../../errors.js';
import { consoleReport } from '../../lab/table.js';
import { writeMarkdown } from '../../lab/markdown.js';
import { writeReport } from '../../lab/report.js';
import { runLab } from '../../lab/run.js';
import type { LabResults } from '../../lab/types.js';
import { MAX_SERVICES } from '../../lab/services.js';

interface LabFlags {
  services: string;
  endpoints: string;
  modes?: string;
  samples: string;
  rounds: string;
  rateSeconds: string;
  rateThreads: string;
  iperfSeconds: string;
  changes: string;
  syncTimeout: string;
  iptables: 'auto' | 'nft' | 'legacy';
  out: string;
  jsonOut?: string;
  markdown?: string;
  reportFrom?: string;
  progress: boolean;
  uml: boolean;
}

export function parseCountList(flag: string, text: string, min: number, max: number): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d+$/.test(p) || Number(p) < min || Number(p) > max) throw invalidField(flag, `expected comma-separated whole numbers ${min}..${max}, got ${JSON.stringify(text)}`);
    out.push(Number(p));
  }
  return [...new Set(out)];
}

export function parseNumber(flag: string, text: string, min: number, max: number, integer = true): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw invalidField(flag, `expected ${integer ? 'a whole number' : 'a number'} ${min}..${max}, got ${JSON.stringify(text)}`);
  }
  return n;
}

export function parseModes(text: string): Mode[] {
  const modes = text.split(',').map((s) => s.trim());
  for (const m of modes) if (!MODES.includes(m as Mode)) throw invalidField('--modes', `unknown mode ${JSON.stringify(m)}: expected some of ${MODES.join(', ')}`);
  return [...new Set(modes)] as Mode[];
}

function readResults(file: string): LabResults {
  let r: LabResults;
  try {
    r = JSON.parse(readFileSync(file, 'utf8')) as LabResults;
  } catch (e) {
    throw invalidField('--report-from', `cannot read ${file}: ${(e as Error).message}`);
  }
  if (r.schema !== 'svcproxy-lab/1') throw invalidField('--report-from', `${file} is not a svcproxy lab results.json (schema ${JSON.stringify(r.schema)})`);
  return r;
}

function rerender(flags: LabFlags): void {
  const results = readResults(flags.reportFrom!);
  writeReport(results, flags.out);
  console.log(consoleReport(results));
  if (flags.markdown) writeMarkdown(flags.markdown, results);
  console.log(`\nreport: ${join(flags.out, 'report.html')}`);
}

export function registerLab(program: Command): void {
  program
    .command('lab')
    .description('measure every usable mode side by side in a closed netns sandbox; writes results.json and report.html')
    .option('--services <list>', 'service counts to measure', '1,1000,10000')
    .option('--endpoints <list>', 'endpoints per service', '4')
    .option('--modes <list>', `modes to measure (default: ${MODES.join(',')}; unusable ones are listed with the reason)`)
    .option('--samples <n>', 'sequential connections per latency figure', '2000')
    .option('--rounds <n>', 'latency rounds per figure; each percentile is the median over them', '5')
    .option('--rate-seconds <s>', 'length of the connection-rate run', '2')
    .option('--rate-threads <n>', 'concurrent connectors in the rate run', '4')
    .option('--iperf-seconds <s>', 'length of each iperf3 run (0: skip)', '3')
    .option('--changes <n>', 'endpoint changes timed per size (the median is reported)', '15')
    .option('--sync-timeout <s>', 'abort a full sync after this long and skip the mode\'s larger sizes', '120')
    .addOption(new Option('--iptables <flavour>', 'iptables flavour for iptables mode').choices(['auto', 'nft', 'legacy']).default('auto'))
    .option('--out <dir>', 'directory for results.json and report.html', 'lab-out')
    .option('--json-out <file>', 'also write the raw results here (used inside User-Mode Linux)')
    .option('--markdown <file>', 'also write a BENCHMARKS.md-style summary here')
    .option('--report-from <file>', 'measure nothing: render the reports again from a results.json')
    .option('--no-progress', 'no progress bar')
    .option('--no-uml', 'do not boot User-Mode Linux for IPVS when the host lacks it')
    .action(async (flags: LabFlags) => {
      if (flags.reportFrom) return rerender(flags);
      const options = {
        services: parseCountList('--services', flags.services, 1, MAX_SERVICES),
        endpoints: parseCountList('--endpoints', flags.endpoints, 1, 200),
        modes: flags.modes ? parseModes(flags.modes) : undefined,
        samples: parseNumber('--samples', flags.samples, 10, 1_000_000),
        rounds: parseNumber('--rounds', flags.rounds, 1, 100),
        rateSeconds: parseNumber('--rate-seconds', flags.rateSeconds, 0.1, 600, false),
        rateThreads: parseNumber('--rate-threads', flags.rateThreads, 1, 256),
        iperfSeconds: parseNumber('--iperf-seconds', flags.iperfSeconds, 0, 600),
        changes: parseNumber('--changes', flags.changes, 1, 1000),
        syncTimeoutSeconds: parseNumber('--sync-timeout', flags.syncTimeout, 1, 86_400),
        iptables: flags.iptables,
      };
      const bar = flags.progress
        ? new cliProgress.SingleBar({ format: 'lab {bar} {percentage}% {value}/{total} {phase}', hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic)
        : undefined;
      let started = false;
      const results = await runLab({
        ...options,
        out: flags.out,
        jsonOut: flags.jsonOut,
        uml: flags.uml,
        command: ['svcproxy', ...process.argv.slice(2)].join(' '),
        onProgress: (p) => {
          if (!bar) return;
          if (!started) {
            bar.start(p.total, p.done, { phase: p.phase });
            started = true;
          } else bar.update(p.done, { phase: p.phase });
        },
        onLog: (line) => process.stderr.write(`${line}\n`),
      }).finally(() => bar?.stop());
      console.log(consoleReport(results));
      if (flags.markdown) writeMarkdown(flags.markdown, results);
      console.log(`\nreport: ${join(flags.out, 'report.html')}  results: ${join(flags.out, 'results.json')}`);
    });
}
