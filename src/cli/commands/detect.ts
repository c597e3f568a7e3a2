/** detect: each mode, usable or not, with the reason. */
import type { Command } from 'commander';
import { recommend } from '../../api/choose.js';
import { detectAll } from '../../api/proxy.js';
import { common, dataplaneOptions, type CommonFlags } from '../options.js';

export function registerDetect(program: Command): void {
  common(program.command('detect'))
    .description('which modes are usable here, and why not')
    .option('--json', 'machine-readable output')
    .action(async (flags: CommonFlags) => {
      const caps = await detectAll(dataplaneOptions(flags));
      const rec = (() => {
        try {
          return recommend(caps, { cgroup: flags.cgroup });
        } catch {
          return undefined;
        }
      })();
      if (flags.json) return console.log(JSON.stringify({ modes: caps, recommended: rec ?? null }, null, 2));
      for (const c of caps) {
        const versions = Object.entries(c.versions).map(([k, v]) => `${k} ${v}`).join(', ');
        console.log(`${c.mode.padEnd(9)} ${c.usable ? 'usable    ' : 'not usable'}  ${c.usable ? versions : c.reason}`);
        for (const n of c.notes ?? []) console.log(`${' '.repeat(22)}${n}`);
      }
      console.log(rec ? `\nrecommended: ${rec.mode} (${rec.why}); --mode auto picks it` : '\nno usable mode here');
    });
}
