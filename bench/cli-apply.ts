/**
 * The user path at scale (issue 14 items 1-2): `svcproxy apply` of a kubectl
 * List (N Services x 4 endpoints + EndpointSlices, bench/input-fixture.ts) in a
 * fresh closed namespace, then re-applied with one endpoint changed; wall time and
 * peak RSS of the CLI process, as ratios to the library's own sync of the same
 * N (dataplane apply of the same states) measured in the same run. Not a test.
 * Usage: node --import ./bench/bpf-ts-loader.mjs bench/cli-apply.ts [N...] (default 30000)
 *   SVP_BENCH_FORMAT=json|yaml (default json)  SVP_BENCH_MODE=nftables
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diff } from '../src/plan/diff.js';
import { scaleStates } from '../test/support/states.js';
import { open } from '../src/api/proxy.js';
import { writeList } from './input-fixture.js';

const format = (process.env.SVP_BENCH_FORMAT ?? 'json') as 'json' | 'yaml';
const mode = (process.env.SVP_BENCH_MODE ?? 'nftables') as 'nftables';

/** one CLI run: wall seconds and peak RSS (MiB, from GNU time) */
function cli(ns: string, file: string): { s: number; rssMiB: number } {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'MAXRSS %M', process.execPath, 'bin/svcproxy.js', 'apply', '--mode', mode, '--netns', ns, '-f', file, '--quiet'], { encoding: 'utf8' });
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`svcproxy apply failed: ${r.stderr}`);
  return { s: +s.toFixed(2), rssMiB: Math.round(Number(/MAXRSS (\d+)/.exec(r.stderr)![1]) / 1024) };
}

/** the library's own sync of the same N: full apply, then one endpoint changed */
async function library(ns: string, n: number): Promise<{ fullS: number; oneS: number }> {
  const proxy = await open({ mode, netns: ns });
  try {
    const a = scaleStates(n, 4);
    const moved = (l: typeof a[number]['internal']) => [{ ...l[0]!, address: '10.127.255.254' }, ...l.slice(1)];
    const b = a.map((s, i) => (i === n - 1 ? { ...s, internal: moved(s.internal), external: moved(s.external) } : s));
    let t = performance.now();
    await proxy.dataplane.apply({ desired: a, actual: [], changes: diff(a, []) });
    const fullS = (performance.now() - t) / 1000;
    t = performance.now();
    await proxy.dataplane.apply({ desired: b, actual: a, changes: diff(b, a) });
    return { fullS: +fullS.toFixed(2), oneS: +((performance.now() - t) / 1000).toFixed(3) };
  } finally {
    await proxy.cleanup().catch(() => undefined);
    await proxy.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'svp-cli-apply-'));
const netns = (tag: string) => {
  const ns = `svp-bench-${process.pid}-${tag}`;
  spawnSync('ip', ['netns', 'add', ns]);
  return ns;
};
try {
  const sizes = process.argv.slice(2).map(Number);
  for (const n of sizes.length ? sizes : [30000]) {
    const a = join(dir, `a.${format}`);
    const b = join(dir, `b.${format}`);
    await writeList({ n, endpoints: 4, format, out: a });
    await writeList({ n, endpoints: 4, format, out: b, changed: n - 1 });
    const ns1 = netns('cli');
    const ns2 = netns('lib');
    try {
      const first = cli(ns1, a);
      const again = cli(ns1, b);
      const lib = await library(ns2, n);
      const version = cli(ns2, '/dev/null'); // startup alone: an empty input on the (cleaned) library namespace
      console.log(JSON.stringify({ n, format, mode, cliApply: first, cliReapply: again, cliEmpty: version, library: lib, ratioApply: +(first.s / lib.fullS).toFixed(1), ratioReapply: +(again.s / lib.oneS).toFixed(0) }));
    } finally {
      spawnSync('ip', ['netns', 'del', ns1]);
      spawnSync('ip', ['netns', 'del', ns2]);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
