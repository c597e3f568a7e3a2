/** switch: move what svcproxy programmed from one mode to another, live. */
import type { Command } from 'commander';
import { open } from '../../api/proxy.js';
import { MODES, type Mode } from '../../dataplanes/types.js';
import { SvcproxyError } from '../../errors.js';
import { common, dataplaneOptions, type CommonFlags } from '../options.js';
import { output } from '../output.js';
import { programmedModes } from './status.js';

export function registerSwitch(program: Command): void {
  common(program.command('switch'))
    .description('switch live to MODE: program it, verify, drain, then remove the old mode (no connection lost)')
    .argument('<mode>', `target: ${MODES.join(', ')}`)
    .option('--from <mode>', 'the mode to leave (default: the one holding svcproxy state)')
    .action(async (target: string, flags: CommonFlags & { from?: string }) => {
      if (!MODES.includes(target as Mode)) throw new SvcproxyError(`mode: must be one of ${MODES.join(', ')}, got ${JSON.stringify(target)}`, { code: 'EINVAL', op: 'switch', field: 'mode' });
      const holding = flags.from ? [flags.from as Mode] : (await programmedModes(dataplaneOptions(flags))).filter((m) => m !== target);
      if (holding.length === 0) throw new SvcproxyError('nothing to switch: no mode holds svcproxy state here (use apply)', { code: 'ENOENT', op: 'switch' });
      if (holding.length > 1) {
        throw new SvcproxyError(`several modes hold state (${holding.join(', ')}): pass --from`, { code: 'EINVAL', op: 'switch', field: '--from' });
      }
      const proxy = await open({ mode: holding[0]!, ...dataplaneOptions(flags) });
      try {
        const r = await proxy.switchMode(target as Mode);
        const ms = (x: number) => `${x.toFixed(0)} ms`;
        const out = output(flags);
        out.json(r);
        out.line(
          `${r.from} -> ${r.to}: ${r.desired.length} service ports; programmed ${ms(r.timings.program)}, verified ${ms(r.timings.verify)}, ` +
            `drained ${ms(r.timings.drain)}, old state removed ${ms(r.timings.remove)}`,
        );
      } finally {
        await proxy.close();
      }
    });
}
