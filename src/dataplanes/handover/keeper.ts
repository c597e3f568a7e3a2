/**
 * The hand-over keeper. Established connections of a NAT mode (iptables,
 * nftables, IPVS) live on in conntrack, but only while the namespace still
 * tracks connections and has NAT hooks: the kernel unregisters conntrack
 * when its last user (a DNAT rule, a ct match) goes away, and packets of
 * those connections then leave untranslated. Switching to bpf mode (no
 * netfilter rules) would strand them. So before a NAT mode is removed in
 * favour of bpf (or IPVS, which does its own NAT), svcproxy installs a tiny
 * chain that keeps conntrack and the nat hooks registered; it goes away when
 * iptables or nftables mode is back, or on cleanup. Which modes need it:
 * traits.ts (nat, holdsConntrack).
 */
import type { DataplaneOptions } from '../types.js';
import { detectBackend } from '../netfilter/runner.js';

export const KEEPER = 'SVCPROXY-HANDOVER';
const COMMENT = 'svcproxy handover: keeps conntrack and NAT for connections of the previous mode';
/** every nat hook: DNAT happens at PREROUTING/OUTPUT, its reverse at POSTROUTING/INPUT */
const HOOKS = ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'];

async function state(opts: DataplaneOptions) {
  const b = await detectBackend(opts.netns ?? '', opts.iptablesBackend);
  const save = await b.save('nat');
  const jumps = save.split('\n').filter((l) => l.startsWith('-A ') && l.endsWith(`-j ${KEEPER}`));
  return { b, present: save.includes(`:${KEEPER} `), jumps };
}

export async function installKeeper(opts: DataplaneOptions): Promise<void> {
  const { b, present, jumps } = await state(opts);
  if (present && jumps.length === HOOKS.length) return;
  const lines = ['*nat'];
  if (!present) lines.push(`:${KEEPER} - [0:0]`, `-A ${KEEPER} -m conntrack --ctstate ESTABLISHED,RELATED -m comment --comment "${COMMENT}" -j RETURN`);
  for (const hook of HOOKS) {
    if (!jumps.some((j) => j.startsWith(`-A ${hook} `))) lines.push(`-A ${hook} -m comment --comment "${COMMENT}" -j ${KEEPER}`);
  }
  lines.push('COMMIT', '');
  await b.restore(lines.join('\n'));
}

export async function removeKeeper(opts: DataplaneOptions): Promise<boolean> {
  const { b, present, jumps } = await state(opts).catch(() => ({ b: undefined, present: false, jumps: [] as string[] }));
  if (!b || (!present && jumps.length === 0)) return false;
  const lines = ['*nat', ...jumps.map((j) => j.replace(/^-A /, '-D '))];
  if (present) lines.push(`:${KEEPER} - [0:0]`, `-X ${KEEPER}`);
  lines.push('COMMIT', '');
  await b.restore(lines.join('\n'));
  return true;
}
