/** apply, diff, status, cleanup: the service-programming commands, one register function each. */
import type { Command } from 'commander';
import { detectAll, open } from '../../api/proxy.js';
import { MODES, type Mode } from '../../dataplanes/types.js';
import { loadFile } from '../../model/load.js';
import { describePort, renderChangeSet, type ServicePortState } from '../../plan/index.js';
import { applyModeOption, common, dataplaneOptions, modeOption, requireMode, type CommonFlags } from '../options.js';
import { output } from '../output.js';
import { cleanupEveryMode } from './cleanup.js';

/** change lines shown by apply and diff before "... and N more" */
const SUMMARY_LINES = 40;

interface FileFlags extends CommonFlags {
  file?: string;
  mode?: string;
  dryRun?: boolean;
  exitCode?: boolean;
}

export function registerServices(program: Command): void {
  registerApply(program);
  registerDiff(program);
  registerStatus(program);
  registerCleanup(program);
}

function registerApply(program: Command): void {
  common(program.command('apply'))
    .description('program the services in FILE into the kernel (Kubernetes List or svcproxy format, YAML or JSON)')
    .requiredOption('-f, --file <file>', 'services file')
    .addOption(applyModeOption())
    .option('--dry-run', 'print the change and the rules, touch nothing')
    .action(async (flags: FileFlags) => {
      const set = await loadFile(flags.file!);
      const out = output(flags);
      const proxy = await open({ mode: requireMode(flags.mode), ...dataplaneOptions(flags) });
      try {
        const r = await proxy.apply(set, { dryRun: flags.dryRun });
        out.json({ mode: proxy.mode, changes: r.plan.changes, stats: r.stats, ignored: set.ignored });
        out.line(flags.dryRun ? r.summary : renderChangeSet(r.plan.changes, SUMMARY_LINES));
        if (flags.dryRun) out.line(`\n# ${proxy.mode} rules that would be applied:\n${r.rules}`);
        else if (r.stats) out.line(`applied in ${r.stats.kernelMs.toFixed(1)} ms (${proxy.mode} mode)`);
      } finally {
        await proxy.close();
      }
    });
}

function registerDiff(program: Command): void {
  common(program.command('diff'))
    .description('show what apply would change')
    .requiredOption('-f, --file <file>', 'services file')
    .addOption(applyModeOption())
    .option('--exit-code', 'exit with status 1 when there are changes')
    .action(async (flags: FileFlags) => {
      const set = await loadFile(flags.file!);
      const out = output(flags);
      const proxy = await open({ mode: requireMode(flags.mode), ...dataplaneOptions(flags) });
      try {
        const changes = await proxy.diff(set);
        out.json(changes);
        out.line(renderChangeSet(changes, SUMMARY_LINES));
        if (flags.exitCode && changes.added.length + changes.changed.length + changes.removed.length > 0) process.exitCode = 1;
      } finally {
        await proxy.close();
      }
    });
}

function registerStatus(program: Command): void {
  common(program.command('status'))
    .description('what svcproxy has programmed in the kernel, per mode')
    .addOption(modeOption())
    .action(async (flags: FileFlags) => {
      const modes = flags.mode ? [flags.mode as Mode] : await usableModes(flags);
      const found = await readModes(modes, flags);
      const out = output(flags);
      out.json({ netns: flags.netns ?? null, modes: found });
      if (found.length === 0) out.line('nothing programmed by svcproxy');
      for (const m of found) {
        out.line(`${m.mode}: ${m.services.length} service ports`);
        for (const s of m.services) out.line(`  ${describePort(s)}`);
      }
    });
}

/** the state of each mode; modes with nothing are left out unless the user named the mode */
async function readModes(modes: Mode[], flags: FileFlags): Promise<{ mode: Mode; services: ServicePortState[] }[]> {
  const found: { mode: Mode; services: ServicePortState[] }[] = [];
  for (const mode of modes) {
    const proxy = await open({ mode, ...dataplaneOptions(flags) });
    try {
      const services = await proxy.read();
      if (services.length > 0 || flags.mode) found.push({ mode, services });
    } finally {
      await proxy.close();
    }
  }
  return found;
}

function registerCleanup(program: Command): void {
  common(program.command('cleanup'))
    .description('remove everything svcproxy owns (one mode, or every mode it can), nothing else')
    .addOption(modeOption())
    .action(async (flags: FileFlags) => {
      const out = output(flags);
      const results = await cleanupEveryMode(flags.mode ? [flags.mode as Mode] : [...MODES], flags, { strict: !!flags.mode });
      out.json({ netns: flags.netns ?? null, modes: results });
      for (const r of results) out.line(`${r.mode}: ${r.line}`);
      if (results.some((r) => r.outcome === 'remains')) process.exitCode = 1;
    });
}

async function usableModes(flags: CommonFlags): Promise<Mode[]> {
  const caps = await detectAll(dataplaneOptions(flags));
  return MODES.filter((m) => caps.find((c) => c.mode === m)?.usable);
}

export { usableModes };
