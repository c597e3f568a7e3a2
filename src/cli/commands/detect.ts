/** detect: each mode, usable or not, with the reason. */
import type { Command } from 'commander';
import { recommend } from '../../api/choose.js';
import { detectAll } from '../../api/proxy.js';
import { output } from '../output.js';
import { common, dataplaneOptions, type CommonFlags } from '../options.js';

export function registerDetect(program: Command): void {
  common(program.command('detect'))
    .description('which modes are usable here, and why not')
    .action(async (flags: CommonFlags) => {
      const caps = await detectAll(dataplaneOptions(flags));
      const rec = (() => {
        try {
          return recommend(caps, { cgroup: flags.cgroup });
        } catch {
          return undefined;
        }
      })();
      const out = output(flags);
      out.json({ modes: caps, recommended: rec ?? null });
      for (const c of caps) {
        const versions = Object.entries(c.versions).map(([k, v]) => `${k} ${v}`).join(', ');
        out.line(`${c.mode.padEnd(9)} ${c.usable ? 'usable    ' : 'not usable'}  ${c.usable ? versions : c.reason}`);
        for (const n of c.notes ?? []) out.line(`${' '.repeat(22)}${n}`);
      }
      out.line(rec ? `\nrecommended: ${rec.mode} (${rec.why}); --mode auto picks it` : '\nno usable mode here');
    });
}
