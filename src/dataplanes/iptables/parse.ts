/**
 * iptables-save output -> what svcproxy owns: its chains, its jump rules in
 * the built-in chains, and the ServicePortStates those chains implement.
 * Only svcproxy's own rule shapes (rules.ts) are parsed; foreign rules are
 * skipped, never interpreted.
 */
import { sortBackends } from '../../plan/flatten.js';
import type { Backend, Family, ServicePortState } from '../../plan/types.js';
import * as n from './names.js';
import type { KernelView } from './restore.js';

export interface Owned {
  view: KernelView;
  jumpLines: { table: string; line: string }[];
  states: ServicePortState[];
}

const KEY = /^([a-z0-9-]+)\/([a-z0-9-]+):([a-z0-9-]*)\/(TCP|UDP|SCTP)@(4|6)$/;

export function parseSave(natSave: string, filterSave: string): Owned {
  const view: KernelView = { nat: new Set(), filter: new Set(), jumps: new Set() };
  const jumpLines: Owned['jumpLines'] = [];
  const rules = new Map<string, string[]>();
  const filterRules: string[] = [];

  for (const [table, text] of [['nat', natSave], ['filter', filterSave]] as const) {
    for (const line of text.split('\n')) {
      if (line.startsWith(`:${n.PREFIX}`)) view[table].add(line.slice(1, line.indexOf(' ')));
      if (!line.startsWith('-A ')) continue;
      const chain = line.slice(3, line.indexOf(' ', 3));
      if (!chain.startsWith(n.PREFIX)) {
        const target = / -j (SVP-[A-Z-]+)$/.exec(line)?.[1];
        if (target) {
          view.jumps.add(`${table}:${chain}:${target}`);
          jumpLines.push({ table, line });
        }
        continue;
      }
      if (table === 'filter') filterRules.push(line);
      else (rules.get(chain) ?? rules.set(chain, []).get(chain)!).push(line);
    }
  }

  const byKey = new Map<string, ServicePortState>();
  const dnat = (sep: string): Backend | undefined => {
    for (const r of rules.get(sep) ?? []) {
      const m = / --to-destination (\d+\.\d+\.\d+\.\d+):(\d+)/.exec(r);
      if (m) return { address: m[1]!, port: Number(m[2]) };
    }
    return undefined;
  };
  const picks = (chain: string): Backend[] =>
    sortBackends(
      (rules.get(chain) ?? [])
        .filter((r) => !r.includes('--rcheck'))
        .flatMap((r) => {
          const sep = / -j (SVP-SEP-[0-9A-F]+)$/.exec(r)?.[1];
          const b = sep ? dnat(sep) : undefined;
          return b ? [b] : [];
        }),
    );

  for (const [chain, list] of rules) {
    if (!chain.startsWith('SVP-SVC-')) continue;
    const meta = /--comment "svp (\S+) meta aff=(\d+) xl=([01]) he=([01])"/.exec(list[0] ?? '');
    const k = meta ? KEY.exec(meta[1]!) : null;
    if (!meta || !k) continue;
    const key = meta[1]!;
    byKey.set(key, {
      key,
      namespace: k[1]!,
      name: k[2]!,
      portName: k[3]!,
      protocol: k[4] as ServicePortState['protocol'],
      family: Number(k[5]) as Family,
      clusterIP: '',
      port: 0,
      nodePort: null,
      externalIPs: [],
      loadBalancerIPs: [],
      affinitySeconds: Number(meta[2]) || null,
      externalLocal: meta[3] === '1',
      internal: picks(chain),
      external: [],
      hasEndpoints: meta[4] === '1',
    });
  }

  const frontends = [...(rules.get(n.SERVICES) ?? []), ...(rules.get(n.NODEPORTS) ?? []), ...filterRules];
  for (const r of frontends) {
    const c = /--comment "svp (\S+) (cluster-ip|external-ip|lb-ip|node-port)"/.exec(r);
    const s = c ? byKey.get(c[1]!) : undefined;
    if (!c || !s) continue;
    const ip = /-d (\S+)\/32/.exec(r)?.[1] ?? '';
    const dport = Number(/--dport (\d+)/.exec(r)?.[1] ?? 0);
    if (c[2] === 'cluster-ip') {
      s.clusterIP = ip;
      s.port = dport;
    } else if (c[2] === 'external-ip') s.externalIPs.push(ip);
    else if (c[2] === 'lb-ip') s.loadBalancerIPs.push(ip);
    else s.nodePort = dport;
  }

  for (const s of byKey.values()) {
    s.externalIPs.sort();
    s.loadBalancerIPs.sort();
    const ext = rules.get(n.extChain(s.key));
    if (ext) {
      const last = / -j (SVP-\S+)$/.exec(ext[ext.length - 1] ?? '')?.[1];
      s.external = last === n.svcChain(s.key) ? s.internal : picks(last ?? '');
    }
  }
  const states = [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { view, jumpLines, states };
}
