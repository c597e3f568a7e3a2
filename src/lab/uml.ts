/**
 * IPVS where the host kernel has none: run the lab again inside User-Mode
 * Linux (src/sandbox/uml.ts) for ipvs plus iptables, its baseline in the same
 * boot, with --json-out to a file both sides see, and merge the guest's run
 * into the results. Timings inside UML (one CPU, no JIT) are compared only
 * with each other.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Capability, Mode } from '../dataplanes/types.js';
import { packageRoot } from '../native/binding.js';
import { runInUml, umlUnavailableReason } from '../sandbox/uml.js';
import type { KernelRun, LabResults } from './types.js';

export interface UmlPlan {
  /** modes to run inside UML (empty: no boot) */
  modes: Mode[];
  /** reason shown for host modes handed to UML or left unmeasured */
  reasons: Map<Mode, string>;
}

export function umlPlan(requested: readonly Mode[], caps: readonly Capability[], allowed: boolean, umlMissing = umlUnavailableReason()): UmlPlan {
  const reasons = new Map<Mode, string>();
  const ipvs = caps.find((c) => c.mode === 'ipvs');
  if (!requested.includes('ipvs') || !ipvs || ipvs.usable) return { modes: [], reasons };
  const why = ipvs.reason ?? 'not usable';
  if (/not implemented/i.test(why)) reasons.set('ipvs', `not measured: ${why}`);
  else if (!allowed) reasons.set('ipvs', `not measured on this kernel: ${why}`);
  else if (umlMissing) reasons.set('ipvs', `not measured: ${why}; User-Mode Linux unavailable: ${umlMissing}`);
  else {
    reasons.set('ipvs', `host kernel: ${why}; measured inside User-Mode Linux instead`);
    return { modes: ['iptables', 'ipvs'], reasons };
  }
  return { modes: [], reasons };
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function guestCommand(modes: readonly Mode[], o: LabResults['options'], jsonOut: string): string {
  const argv = [
    process.execPath,
    join(packageRoot, 'bin', 'svcproxy.js'),
    'lab',
    '--modes', modes.join(','),
    '--services', o.services.join(','),
    '--endpoints', o.endpoints.join(','),
    '--samples', String(o.samples),
    '--rounds', String(o.rounds),
    '--rate-seconds', String(o.rateSeconds),
    '--rate-threads', String(o.rateThreads),
    '--iperf-seconds', String(o.iperfSeconds),
    '--changes', String(o.changes),
    '--sync-timeout', String(o.syncTimeoutSeconds),
    '--json-out', jsonOut,
    '--out', join(dirname(jsonOut), 'report'),
    '--no-progress',
    '--no-uml',
  ];
  return argv.map(quote).join(' ');
}

export async function runModesInUml(modes: readonly Mode[], o: LabResults['options']): Promise<{ runs: KernelRun[] } | { error: string }> {
  // /var/tmp, not /tmp: the guest's /tmp is a tmpfs of its own.
  const dir = mkdtempSync('/var/tmp/svcproxy-lab-');
  const file = join(dir, 'uml-results.json');
  try {
    // room for 30k services in two modes plus the lab's own heap: a guest short of memory reclaims while it measures
    const r = await runInUml({ command: guestCommand(modes, o, file), memory: '4G', stream: null, timeoutMs: 60 * 60_000 });
    if (r.status !== 0) {
      // the guest's last words, minus colours and the power-off lines
      const lines = r.output.replace(/\x1b\[[0-9;]*m/g, '').trim().split('\n').filter((l) => !/Powering off|System halted/.test(l));
      const first = lines.findIndex((l) => /^(svcproxy: |Error)/.test(l));
      return { error: `exit status ${r.status}: ${(first >= 0 ? lines[first]! : lines.at(-1) ?? '').trim()}` };
    }
    const guest = JSON.parse(readFileSync(file, 'utf8')) as LabResults;
    return { runs: guest.runs.map((run) => ({ ...run, where: 'uml' as const })) };
  } catch (e) {
    return { error: (e as Error).message };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
