/**
 * The iptables-save/-restore runner shared by the iptables and ipvs modes
 * (and the keeper). Which iptables the host uses, decided as kube-proxy's iptables-wrapper
 * does: the flavour that already holds our (or kube-proxy's) chains wins,
 * else the one holding more rules (IPv4 and IPv6 counted, as the wrapper does).
 * Where neither flavour holds any rule, legacy: iptables-nft-restore is
 * super-linear in the chain count (svcproxy writes ~5 chains per service port;
 * 4k services took seconds, 10k minutes), legacy loads 30k in seconds
 * (bench/cli-iptables-flavour.ts). The pick says so in a one-line note.
 * All commands run inside the target network namespace through the native exec (setns + spawn).
 */
import { run } from '../../native/exec.js';
import type { Netns } from '../../native/netns.js';
import { SvcproxyError } from '../../errors.js';

export type Flavour = 'nft' | 'legacy';
/** 4 runs iptables-*, 6 runs ip6tables-* of the same flavour. */
export type IpFamily = 4 | 6;

const tool = (family: IpFamily, flavour: Flavour, suffix: '' | '-save' | '-restore') =>
  `${family === 6 ? 'ip6tables' : 'iptables'}-${flavour}${suffix}`;

export interface IptablesBackend {
  flavour: Flavour;
  version: string;
  save(table: 'nat' | 'filter', family?: IpFamily): Promise<string>;
  restore(text: string, family?: IpFamily): Promise<void>;
  /** why this flavour, when it is not the one iptables-wrapper would take (for Capability notes) */
  note?: string;
}

/** What a probe of one flavour found (its saves, IPv4 then IPv6 when it answered). */
export interface FlavourProbe {
  flavour: Flavour;
  ok: boolean;
  save: string;
  version: string;
  why?: string;
}

export const EMPTY_NAMESPACE_NOTE =
  'no iptables rules in either flavour: using iptables-legacy (iptables-nft-restore is super-linear in chain count at scale); pass --iptables nft to override';

async function probe(flavour: Flavour, netns: Netns): Promise<FlavourProbe> {
  const save = `iptables-${flavour}-save`;
  try {
    const v = await run([`iptables-${flavour}`, '--version'], { netns, allowFailure: true });
    const r = await run([save], { netns, allowFailure: true });
    if (r.status !== 0) return { flavour, ok: false, save: '', version: '', why: `${save}: ${r.err.trim().split('\n')[0] ?? `exit ${r.status}`}` };
    // IPv6 rules count too (as in iptables-wrapper); a missing ip6tables counts as none
    const r6 = await run([`ip6tables-${flavour}-save`], { netns, allowFailure: true }).catch(() => undefined);
    const save6 = r6?.status === 0 ? r6.out : '';
    return { flavour, ok: true, save: `${r.out}\n${save6}`, version: v.out.trim() };
  } catch (e) {
    return { flavour, ok: false, save: '', version: '', why: e instanceof Error ? e.message : String(e) };
  }
}

const ruleCount = (save: string) => save.split('\n').filter((l) => l.startsWith('-A ')).length;
const hinted = (save: string) => /^:(SVP-SERVICES|KUBE-IPTABLES-HINT|KUBE-KUBELET-CANARY) /m.test(save);

/**
 * The flavour to use among the usable ones (probe order: nft, legacy). A
 * hinted flavour wins, then the one with more rules (ties: nft, as the wrapper
 * does); with no rule in either, legacy with a note.
 */
export function chooseFlavour(usable: readonly FlavourProbe[]): { flavour: Flavour; version: string; note?: string } {
  const pick = (p: FlavourProbe, note?: string) => ({ flavour: p.flavour, version: p.version, ...(note ? { note } : {}) });
  const hint = usable.find((x) => hinted(x.save));
  if (hint || usable.length < 2) return pick(hint ?? usable[0]!);
  const [a, b] = usable as [FlavourProbe, FlavourProbe];
  const [ra, rb] = [ruleCount(a.save), ruleCount(b.save)];
  if (ra === 0 && rb === 0) {
    const legacy = usable.find((x) => x.flavour === 'legacy');
    if (legacy) return pick(legacy, EMPTY_NAMESPACE_NOTE);
  }
  return pick(rb > ra ? b : a);
}

export async function detectBackend(netns: Netns, want: 'auto' | Flavour = 'auto'): Promise<IptablesBackend> {
  const flavours: Flavour[] = want === 'auto' ? ['nft', 'legacy'] : [want];
  const found = await Promise.all(flavours.map((f) => probe(f, netns)));
  const usable = found.filter((x) => x.ok);
  if (usable.length === 0) {
    const why = found.map((x) => x.why).join('; ');
    throw new SvcproxyError(`no usable iptables: ${why}. Install the iptables package (apt-get install iptables)`, {
      code: 'ENOMODE',
      op: 'detect',
      mode: 'iptables',
    });
  }
  const pick = chooseFlavour(usable);
  return makeBackend(pick, netns);
}

function makeBackend({ flavour, version, note }: { flavour: Flavour; version: string; note?: string }, netns: Netns): IptablesBackend {
  return {
    flavour,
    version,
    ...(note ? { note } : {}),
    save: async (table, family = 4) =>
      (await run([tool(family, flavour, '-save'), '-t', table], { netns, op: tool(family, flavour, '-save') })).out,
    restore: async (text, family = 4) => {
      const op = tool(family, flavour, '-restore');
      await run([op, '--noflush', '--wait'], { netns, input: text, op });
    },
  };
}
