import { describe, expect, it } from 'vitest';
import { chooseFlavour, EMPTY_NAMESPACE_NOTE, type Flavour, type FlavourProbe } from '../../src/dataplanes/netfilter/runner.js';

const EMPTY_NAT = '*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';
const probe = (flavour: Flavour, save = EMPTY_NAT): FlavourProbe => ({ flavour, ok: true, save, version: `iptables v1.8 (${flavour})` });
const rules = (n: number, chain = 'FOREIGN') => `*filter\n:${chain} - [0:0]\n${Array.from({ length: n }, () => `-A ${chain} -j ACCEPT`).join('\n')}\nCOMMIT\n`;

describe('chooseFlavour (iptables-wrapper, legacy on an empty namespace)', () => {
  it('takes legacy with a note when neither flavour holds a rule', () => {
    expect(chooseFlavour([probe('nft'), probe('legacy')])).toEqual({ flavour: 'legacy', version: 'iptables v1.8 (legacy)', note: EMPTY_NAMESPACE_NOTE });
    expect(chooseFlavour([probe('nft', ''), probe('legacy', '')]).flavour).toBe('legacy');
  });
  it('keeps the wrapper logic once rules exist: more rules wins, ties go to nft, no note', () => {
    expect(chooseFlavour([probe('nft', rules(3)), probe('legacy', rules(1))])).toEqual({ flavour: 'nft', version: 'iptables v1.8 (nft)' });
    expect(chooseFlavour([probe('nft', rules(1)), probe('legacy', rules(3))]).flavour).toBe('legacy');
    expect(chooseFlavour([probe('nft', rules(2)), probe('legacy', rules(2))]).flavour).toBe('nft');
    expect(chooseFlavour([probe('nft', rules(1)), probe('legacy')]).flavour).toBe('nft');
  });
  it('prefers the flavour holding svcproxy or kube-proxy chains over rule counts', () => {
    for (const chain of ['SVP-SERVICES', 'KUBE-IPTABLES-HINT', 'KUBE-KUBELET-CANARY']) {
      expect(chooseFlavour([probe('nft', rules(0, chain)), probe('legacy', rules(50))]).flavour).toBe('nft');
      expect(chooseFlavour([probe('nft', rules(50)), probe('legacy', rules(0, chain))]).flavour).toBe('legacy');
    }
  });
  it('counts IPv6 rules too (the probe appends ip6tables-save)', () => {
    expect(chooseFlavour([probe('nft', `${EMPTY_NAT}\n${rules(1)}`), probe('legacy')]).flavour).toBe('nft');
  });
  it('uses the only usable flavour, without a note', () => {
    expect(chooseFlavour([probe('nft')])).toEqual({ flavour: 'nft', version: 'iptables v1.8 (nft)' });
    expect(chooseFlavour([probe('legacy')])).toEqual({ flavour: 'legacy', version: 'iptables v1.8 (legacy)' });
  });
});
