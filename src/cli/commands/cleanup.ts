/**
 * cleanup over several modes: each mode that can be opened here is cleaned
 * and read back; a mode that is not usable (missing kernel feature, or
 * options such as bpf's --cgroup) is skipped with its reason. Only state
 * of svcproxy's that is still there afterwards makes the command fail.
 */
import { detectAll, open } from '../../api/proxy.js';
import type { Mode } from '../../dataplanes/types.js';
import { SvcproxyError } from '../../errors.js';
import { dataplaneOptions, type CommonFlags } from '../options.js';

export interface CleanupResult {
  mode: Mode;
  /** cleaned: state removed; empty: nothing of svcproxy's was there; skipped: mode not usable here; remains: state left */
  outcome: 'cleaned' | 'empty' | 'skipped' | 'remains';
  /** service ports found before cleanup */
  removed: number;
  line: string;
}

/** strict: the user named the mode, so a mode that cannot be opened is an error, not a skip */
export async function cleanupEveryMode(modes: Mode[], flags: CommonFlags, opts: { strict: boolean }): Promise<CleanupResult[]> {
  const caps = await detectAll(dataplaneOptions(flags));
  const results: CleanupResult[] = [];
  for (const mode of modes) {
    const cap = caps.find((c) => c.mode === mode);
    if (!opts.strict && !cap?.usable) {
      results.push({ mode, outcome: 'skipped', removed: 0, line: `skipped, not usable here: ${cap?.reason ?? 'not detected'}` });
      continue;
    }
    results.push(await cleanupOne(mode, flags, opts.strict));
  }
  return results;
}

async function cleanupOne(mode: Mode, flags: CommonFlags, strict: boolean): Promise<CleanupResult> {
  let proxy: Awaited<ReturnType<typeof open>> | undefined;
  try {
    proxy = await open({ mode, ...dataplaneOptions(flags) });
    const before = (await proxy.read()).length;
    await proxy.cleanup();
    const after = (await proxy.read()).length;
    if (after > 0) return { mode, outcome: 'remains', removed: before - after, line: `${after} service ports of svcproxy's remain after cleanup` };
    if (before === 0) return { mode, outcome: 'empty', removed: 0, line: "cleaned up (nothing of svcproxy's was there)" };
    return { mode, outcome: 'cleaned', removed: before, line: `cleaned up (${before} service ports removed)` };
  } catch (e) {
    if (strict || !(e instanceof SvcproxyError)) throw e;
    const why = e.message.split('\n')[0];
    // a mode that lacks its options (bpf without --cgroup) cannot hold state we could reach: skip it
    if (e.code === 'EINVAL') return { mode, outcome: 'skipped', removed: 0, line: `skipped, lacks options: ${why}` };
    return { mode, outcome: 'remains', removed: 0, line: `cleanup failed: ${why} [${e.code}]` };
  } finally {
    await proxy?.close();
  }
}
