/**
 * The iptables half of IPVS mode (kube-proxy does the same with ipsets):
 * IPVS in masquerade mode rewrites the destination only, so replies from
 * an endpoint must come back through the node: traffic IPVS forwarded is
 * SNATed (MASQUERADE) in svcproxy's own chain, except from sources inside
 * clusterCIDR (unless masqueradeAll) and to external frontends with
 * traffic policy Local, which keep the client address. Needs
 * net.ipv4.vs.conntrack=1 so IPVS connections get conntrack entries.
 */
import type { IptablesBackend } from '../iptables/backend.js';
import type { ServicePortState } from '../../plan/types.js';

export const CHAIN = 'SVP-IPVS-POSTROUTING';
const JUMP = `-m comment --comment "svcproxy ipvs" -j ${CHAIN}`;

export interface MasqOptions {
  clusterCIDR?: string;
  masqueradeAll?: boolean;
  /** node addresses carrying node ports */
  nodeIPs: string[];
}

export function masqRules(states: ServicePortState[], o: MasqOptions): string[] {
  const rules: string[] = [];
  for (const s of states) {
    if (!s.externalLocal || s.family !== 4) continue;
    const keep = (ip: string, port: number) => rules.push(`-A ${CHAIN} -m ipvs --ipvs --vdir ORIGINAL --vaddr ${ip}/32 --vport ${port} -j RETURN`);
    for (const ip of [...s.externalIPs, ...s.loadBalancerIPs]) keep(ip, s.port);
    if (s.nodePort !== null) for (const ip of o.nodeIPs.filter((a) => !a.includes(':'))) keep(ip, s.nodePort);
  }
  const src = o.clusterCIDR && !o.masqueradeAll ? `! -s ${o.clusterCIDR} ` : '';
  rules.push(`-A ${CHAIN} ${src}-m ipvs --ipvs --vdir ORIGINAL --vmethod MASQ -j MASQUERADE`);
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
