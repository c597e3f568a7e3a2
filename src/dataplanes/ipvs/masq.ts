/**
 * The iptables half of IPVS mode, as kube-proxy's (it uses ipsets where
 * this writes a rule per external frontend): IPVS in masquerade mode
 * rewrites the destination only, so what must come back through the node is
 * SNATed (MASQUERADE) in svcproxy's own chain, in this order:
 * - hairpin, an endpoint picked for its own connection (hairpin.ts's set);
 * - external frontends with traffic policy Local keep the client address;
 * - node ports and the other external and load-balancer IPs are masqueraded;
 * - cluster IP traffic only from outside clusterCIDR, or all of it with
 *   masqueradeAll; with neither, not at all (the client address is kept).
 * IPv4 only. Needs net.ipv4.vs.conntrack=1 so IPVS connections get
 * conntrack entries.
 */
import type { IptablesBackend } from '../netfilter/runner.js';
import type { ServicePortState } from '../../plan/types.js';
import { LOOP_BACK } from './hairpin.js';

export const CHAIN = 'SVP-IPVS-POSTROUTING';
const JUMP = `-m comment --comment "svcproxy ipvs" -j ${CHAIN}`;
const IPVS = '-m ipvs --ipvs --vdir ORIGINAL --vmethod MASQ';

export interface MasqOptions {
  clusterCIDR?: string;
  masqueradeAll?: boolean;
  /** node addresses carrying node ports */
  nodeIPs: string[];
}

/** Ports whose frontends appear in the chain (a change to one of them rewrites it). */
export const inMasqChain = (s: ServicePortState) => s.family === 4 && s.externalIPs.length + s.loadBalancerIPs.length + (s.externalLocal && s.nodePort !== null ? 1 : 0) > 0;

export function masqRules(states: ServicePortState[], o: MasqOptions): string[] {
  // kube-proxy matches the set on all traffic; only what IPVS forwarded can be hairpin through it
  const rules = [`-A ${CHAIN} ${IPVS} -m set --match-set ${LOOP_BACK} dst,dst,src -j MASQUERADE`];
  const nodeIPs = o.nodeIPs.filter((a) => !a.includes(':'));
  const external: string[] = [];
  for (const s of states) {
    if (s.family !== 4) continue;
    const frontends = [...s.externalIPs, ...s.loadBalancerIPs].map((ip) => `--vaddr ${ip}/32 --vport ${s.port}`);
    if (s.externalLocal) {
      if (s.nodePort !== null) frontends.push(...nodeIPs.map((ip) => `--vaddr ${ip}/32 --vport ${s.nodePort}`));
      for (const f of frontends) rules.push(`-A ${CHAIN} -m ipvs --ipvs --vdir ORIGINAL ${f} -j RETURN`);
    } else {
      for (const f of frontends) external.push(`-A ${CHAIN} ${IPVS} ${f} -j MASQUERADE`);
    }
  }
  // every node port that is not Local (those returned above)
  for (const ip of nodeIPs) rules.push(`-A ${CHAIN} ${IPVS} --vaddr ${ip}/32 -j MASQUERADE`);
  rules.push(...external);
  if (o.masqueradeAll) rules.push(`-A ${CHAIN} ${IPVS} -j MASQUERADE`);
  else if (o.clusterCIDR) rules.push(`-A ${CHAIN} ! -s ${o.clusterCIDR} ${IPVS} -j MASQUERADE`);
  return rules;
}

/** Rewrite svcproxy's chain (only it) and add the jump from POSTROUTING once. */
export async function syncMasq(b: IptablesBackend, states: ServicePortState[], o: MasqOptions): Promise<number> {
  const save = await b.save('nat');
  const jump = save.includes(`-A POSTROUTING ${JUMP}`) ? [] : [`-A POSTROUTING ${JUMP}`];
  const rules = masqRules(states, o);
  await b.restore(['*nat', `:${CHAIN} - [0:0]`, ...rules, ...jump, 'COMMIT', ''].join('\n'));
  return rules.length;
}

export async function removeMasq(b: IptablesBackend): Promise<void> {
  const save = await b.save('nat');
  if (!save.includes(`:${CHAIN} `)) return;
  const lines = ['*nat', `:${CHAIN} - [0:0]`];
  if (save.includes(`-A POSTROUTING ${JUMP}`)) lines.push(`-D POSTROUTING ${JUMP}`);
  lines.push(`-X ${CHAIN}`, 'COMMIT', '');
  await b.restore(lines.join('\n'));
}
