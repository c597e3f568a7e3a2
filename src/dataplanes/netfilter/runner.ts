/**
 * The iptables-save/-restore runner shared by the iptables and ipvs modes
 * (and the keeper). Which iptables the host uses, decided as kube-proxy's iptables-wrapper
 * does: the flavour that already holds our (or kube-proxy's) chains wins,
 * else the one holding more rules, else nft. All commands run inside the
 * target network namespace through the native exec (setns + spawn).
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
}

async function probe(flavour: Flavour, netns: Netns): Promise<{ ok: boolean; save: string; version: string; why?: string }> {
  const save = `iptables-${flavour}-save`;
  try {
    const v = await run([`iptables-${flavour}`, '--version'], { netns, allowFailure: true });
    const r = await run([save], { netns, allowFailure: true });
    if (r.status !== 0) return { ok: false, save: '', version: '', why: `${save}: ${r.err.trim().split('\n')[0] ?? `exit ${r.status}`}` };
    return { ok: true, save: r.out, version: v.out.trim() };
  } catch (e) {
    return { ok: false, save: '', version: '', why: e instanceof Error ? e.message : String(e) };
  }
}

const ruleCount = (save: string) => save.split('\n').filter((l) => l.startsWith('-A ')).length;
const hinted = (save: string) => /^:(SVP-SERVICES|KUBE-IPTABLES-HINT|KUBE-KUBELET-CANARY) /m.test(save);

export async function detectBackend(netns: Netns, want: 'auto' | Flavour = 'auto'): Promise<IptablesBackend> {
  const flavours: Flavour[] = want === 'auto' ? ['nft', 'legacy'] : [want];
  const found = await Promise.all(flavours.map(async (f) => ({ f, ...(await probe(f, netns)) })));
  const usable = found.filter((x) => x.ok);
  if (usable.length === 0) {
    const why = found.map((x) => x.why).join('; ');
    throw new SvcproxyError(`no usable iptables: ${why}. Install the iptables package (apt-get install iptables)`, {
      code: 'ENOMODE',
      op: 'detect',
      mode: 'iptables',
    });
  }
  const pick =
    usable.find((x) => hinted(x.save)) ??
    (usable.length === 2 && ruleCount(usable[1]!.save) > ruleCount(usable[0]!.save) ? usable[1] : usable[0])!;
  return makeBackend(pick.f, pick.version, netns);
}

function makeBackend(flavour: Flavour, version: string, netns: Netns): IptablesBackend {
  return {
    flavour,
    version,
    save: async (table, family = 4) =>
      (await run([tool(family, flavour, '-save'), '-t', table], { netns, op: tool(family, flavour, '-save') })).out,
    restore: async (text, family = 4) => {
      const op = tool(family, flavour, '-restore');
      await run([op, '--noflush', '--wait'], { netns, input: text, op });
    },
  };
}
