/**
 * Why iptables-nft-restore is slow with svcproxy's layout (issue 14 item 3), and
 * whether legacy meets the targets (10k <= 30 s, 30k <= 90 s). Not a test. Each
 * load runs in a fresh, closed network namespace this script creates and deletes
 * (no links, no routes). Variants, same N services x 4 endpoints:
 *   svcproxy  - svcproxy's own restore text (renderRestore from an empty kernel)
 *   nocomment - the same without "-m comment" matches
 *   flat      - the same rule count in one chain (no per-service chains, no jumps)
 *   chains    - the same chain count, one rule each (chains without rules)
 * Usage: node --import ./bench/bpf-ts-loader.mjs bench/cli-iptables-flavour.ts [N...]
 *   SVP_BENCH_FLAVOURS=nft,legacy  SVP_BENCH_VARIANTS=svcproxy,...  SVP_BENCH_LIMIT_S=300
 */
import { spawnSync } from 'node:child_process';
import { diff } from '../src/plan/diff.js';
import { renderRestore } from '../src/dataplanes/iptables/restore.js';
import { scaleStates } from '../test/support/states.js';

const limitS = Number(process.env.SVP_BENCH_LIMIT_S ?? 300);
const flavours = (process.env.SVP_BENCH_FLAVOURS ?? 'legacy,nft').split(',');
const variants = (process.env.SVP_BENCH_VARIANTS ?? 'svcproxy,nocomment,flat,chains').split(',');

function svcproxyText(n: number): string {
  const desired = scaleStates(n, 4);
  const plan = { desired, actual: [], changes: diff(desired, []) };
  const view = { nat: new Set<string>(), filter: new Set<string>(), jumps: new Set<string>() };
  return renderRestore(plan, view, { masqBit: 14, clusterCIDR: '10.128.0.0/9' }).text;
}

const stripComments = (t: string) => t.replace(/ -m comment --comment ("[^"]*"|\S+)/g, '');

/** every rule of the nat table moved into one chain, jumps replaced by ACCEPT: the rule count without the chains */
function flat(t: string): string {
  const [nat, filter] = t.split('COMMIT\n');
  const rest = `${filter}COMMIT\n`;
  const rules = nat!.split('\n').filter((l) => l.startsWith('-A '));
  const body = rules.map((l) => l.replace(/^-A \S+/, '-A SVP-FLAT').replace(/ -j SVP-\S+/, ' -j ACCEPT'));
  return ['*nat', ':SVP-FLAT - [0:0]', ...body, 'COMMIT', rest].join('\n');
}

/** the chain count of the nat table, each chain holding one plain rule */
function chainsOnly(t: string): string {
  const [nat, filter] = t.split('COMMIT\n');
  const rest = `${filter}COMMIT\n`;
  const decl = nat!.split('\n').filter((l) => l.startsWith(':'));
  const rules = decl.map((d) => `-A ${d.slice(1, d.indexOf(' '))} -j RETURN`);
  return ['*nat', ...decl, ...rules, 'COMMIT', rest].join('\n');
}

const shape = (t: string) => ({ chains: (t.match(/^:/gm) ?? []).length, rules: (t.match(/^-A /gm) ?? []).length, bytes: t.length });

function load(flavour: string, text: string): string {
  const ns = `svp-scale-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  spawnSync('ip', ['netns', 'add', ns], { stdio: 'inherit' });
  try {
    const t0 = performance.now();
    const r = spawnSync('ip', ['netns', 'exec', ns, `iptables-${flavour}-restore`, '--noflush', '--wait'], {
      input: text,
      timeout: limitS * 1000,
      killSignal: 'SIGKILL',
      maxBuffer: 1 << 26,
    });
    const s = (performance.now() - t0) / 1000;
    if (r.error || r.status !== 0) return r.signal ? `> ${limitS} s` : `error ${r.status}: ${String(r.stderr).split('\n')[0]}`;
    return `${s.toFixed(2)} s`;
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

const make: Record<string, (t: string) => string> = { svcproxy: (t) => t, nocomment: stripComments, flat, chains: chainsOnly };
const sizes = process.argv.slice(2).map(Number);
for (const n of sizes.length ? sizes : [1000, 2000, 4000]) {
  const base = svcproxyText(n);
  for (const v of variants) {
    const text = make[v]!(base);
    for (const f of flavours) console.log(JSON.stringify({ n, variant: v, flavour: f, ...shape(text), load: load(f, text) }));
  }
}
