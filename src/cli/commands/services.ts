/** apply, diff, status, cleanup: the service-programming commands. */
import type { Command } from 'commander';
import { detectAll, open } from '../../api/proxy.js';
import { MODES, type Mode } from '../../dataplanes/types.js';
import { loadFile } from '../../model/load.js';
import { describePort, renderChangeSet, type ServicePortState } from '../../plan/index.js';
import { applyModeOption, common, dataplaneOptions, modeOption, requireMode, type CommonFlags } from '../options.js';

/** change lines shown by apply and diff before "... and N more" */
const SUMMARY_LINES = 40;

interface FileFlags extends CommonFlags {
  file?: string;
  mode?: string;
  dryRun?: boolean;
  exitCode?: boolean;
}

export function registerServices(program: Command): void {
  common(program.command('apply'))
    .description('program the services in FILE into the kernel (Kubernetes List or svcproxy format, YAML or JSON)')
    .requiredOption('-f, --file <file>', 'services file')
    .addOption(applyModeOption())
    .option('--dry-run', 'print the change and the rules, touch nothing')
    .action(async (flags: FileFlags) => {
      const set = await loadFile(flags.file!);
      const proxy = await open({ mode: requireMode(flags.mode), ...dataplaneOptions(flags) });
      try {
        const r = await proxy.apply(set, { dryRun: flags.dryRun });
        if (flags.json) return print({ changes: r.plan.changes, stats: r.stats, ignored: set.ignored });
        console.log(flags.dryRun ? r.summary : renderChangeSet(r.plan.changes, SUMMARY_LINES));
        if (flags.dryRun) console.log(`\n# ${proxy.mode} rules that would be applied:\n${r.rules}`);
        else if (r.stats) console.log(`applied in ${r.stats.kernelMs.toFixed(1)} ms (${proxy.mode} mode)`);
      } finally {
        await proxy.close();
      }
    });

  common(program.command('diff'))
    .description('show what apply would change')
    .requiredOption('-f, --file <file>', 'services file')
    .addOption(applyModeOption())
    .option('--exit-code', 'exit with status 1 when there are changes')
    .action(async (flags: FileFlags) => {
      const set = await loadFile(flags.file!);
      const proxy = await open({ mode: requireMode(flags.mode), ...dataplaneOptions(flags) });
      try {
        const changes = await proxy.diff(set);
        if (flags.json) print(changes);
        else console.log(renderChangeSet(changes, SUMMARY_LINES));
        if (flags.exitCode && changes.added.length + changes.changed.length + changes.removed.length > 0) process.exitCode = 1;
      } finally {
        await proxy.close();
      }
    });

  common(program.command('status'))
    .description('what svcproxy has programmed in the kernel, per mode')
    .addOption(modeOption())
    .option('--json', 'machine-readable output')
    .action(async (flags: FileFlags) => {
      const modes = flags.mode ? [flags.mode as Mode] : await usableModes(flags);
      const out: { mode: Mode; services: ServicePortState[] }[] = [];
      for (const mode of modes) {
        const proxy = await open({ mode, ...dataplaneOptions(flags) });
        try {
          const services = await proxy.read();
          if (services.length > 0 || flags.mode) out.push({ mode, services });
        } finally {
          await proxy.close();
        }
      }
      if (flags.json) return print({ netns: flags.netns ?? null, modes: out });
      if (out.length === 0) console.log('nothing programmed by svcproxy');
      for (const m of out) {
        console.log(`${m.mode}: ${m.services.length} service ports`);
        for (const s of m.services) console.log(`  ${describePort(s)}`);
      }
    });

  common(program.command('cleanup'))
    .description('remove everything svcproxy owns (one mode, or every usable mode), nothing else')
    .addOption(modeOption())
    .action(async (flags: FileFlags) => {
      const modes = flags.mode ? [flags.mode as Mode] : await usableModes(flags);
      for (const mode of modes) {
        const proxy = await open({ mode, ...dataplaneOptions(flags) });
        try {
          await proxy.cleanup();
          console.log(`${mode}: cleaned up`);
        } finally {
          await proxy.close();
        }
      }
    });
}

async function usableModes(flags: CommonFlags): Promise<Mode[]> {
  const caps = await detectAll(dataplaneOptions(flags));
  return MODES.filter((m) => caps.find((c) => c.mode === m)?.usable);
}

export { usableModes };

const print = (v: unknown) => console.log(JSON.stringify(v, null, 2));
