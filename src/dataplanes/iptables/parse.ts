/**
 * iptables-save (or ip6tables-save) output -> what svcproxy owns: its chains,
 * its jump rules in the built-in chains, and the ServicePortStates those
 * chains implement. Only svcproxy's own rule shapes (rules.ts) are parsed;
 * foreign rules are skipped, never interpreted. The same shapes serve both
 * families: addresses are /32 or /128, DNAT targets a.b.c.d:port or [v6]:port.
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

/** svcproxy's lines of one save, sorted by where they live */
interface Lines {
  view: KernelView;
  jumpLines: Owned['jumpLines'];
  /** nat rules per owned chain */
  rules: Map<string, string[]>;
  filterRules: string[];
}

const KEY = /^([a-z0-9-]+)\/([a-z0-9-]+):([a-z0-9-]*)\/(TCP|UDP|SCTP)@(4|6)$/;
const META = /--comment "svp (\S+) meta aff=(\d+) xl=([01]) he=([01])"/;
const FRONTEND = /--comment "svp (\S+) (cluster-ip|external-ip|lb-ip|node-port)"/;
const DNAT = / --to-destination \[?([0-9a-fA-F:.]+?)\]?:(\d+)(?: |$)/;

export function parseSave(natSave: string, filterSave: string): Owned {
  const lines = collect(natSave, filterSave);
  const byKey = readServicePorts(lines.rules);
  readFrontends(lines, byKey);
  readExternal(lines.rules, byKey);
  const states = [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { view: lines.view, jumpLines: lines.jumpLines, states };
}

function collect(natSave: string, filterSave: string): Lines {
  const out: Lines = { view: { nat: new Set(), filter: new Set(), jumps: new Set() }, jumpLines: [], rules: new Map(), filterRules: [] };
  for (const [table, text] of [['nat', natSave], ['filter', filterSave]] as const) {
    for (const line of text.split('\n')) {
      if (line.startsWith(`:${n.PREFIX}`)) out.view[table].add(line.slice(1, line.indexOf(' ')));
      if (!line.startsWith('-A ')) continue;
      const chain = line.slice(3, line.indexOf(' ', 3));
      if (!chain.startsWith(n.PREFIX)) {
        const target = / -j (SVP-[A-Z-]+)$/.exec(line)?.[1];
        if (target) {
          out.view.jumps.add(`${table}:${chain}:${target}`);
          out.jumpLines.push({ table, line });
        }
        continue;
      }
      if (table === 'filter') out.filterRules.push(line);
      else (out.rules.get(chain) ?? out.rules.set(chain, []).get(chain)!).push(line);
    }
  }
  return out;
}

/** endpoints a choice chain picks from (statistic/fallthrough jumps to SEP chains, not affinity checks) */
function picks(rules: Map<string, string[]>, chain: string): Backend[] {
  const dnat = (sep: string): Backend | undefined => {
    for (const r of rules.get(sep) ?? []) {
      const m = DNAT.exec(r);
      if (m) return { address: m[1]!, port: Number(m[2]) };
    }
    return undefined;
  };
  return sortBackends(
    (rules.get(chain) ?? [])
      .filter((r) => !r.includes('--rcheck'))
      .flatMap((r) => {
        const sep = / -j (SVP-SEP-[0-9A-F]+)$/.exec(r)?.[1];
        const b = sep ? dnat(sep) : undefined;
        return b ? [b] : [];
      }),
  );
}

/** one state per SVC chain, from its meta comment; frontends filled in later */
function readServicePorts(rules: Map<string, string[]>): Map<string, ServicePortState> {
  const byKey = new Map<string, ServicePortState>();
  for (const [chain, list] of rules) {
    if (!chain.startsWith('SVP-SVC-')) continue;
    const meta = META.exec(list[0] ?? '');
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
      internal: picks(rules, chain),
      external: [],
      hasEndpoints: meta[4] === '1',
    });
  }
  return byKey;
}

/** cluster IP, external/LB IPs and node port from the dispatch and filter rules */
function readFrontends(lines: Lines, byKey: Map<string, ServicePortState>): void {
  const frontends = [...(lines.rules.get(n.SERVICES) ?? []), ...(lines.rules.get(n.NODEPORTS) ?? []), ...lines.filterRules];
  for (const r of frontends) {
    const c = FRONTEND.exec(r);
    const s = c ? byKey.get(c[1]!) : undefined;
    if (!c || !s) continue;
    const ip = /-d (\S+)\/(?:32|128) /.exec(r)?.[1] ?? '';
    const dport = Number(/--dport (\d+)/.exec(r)?.[1] ?? 0);
    if (c[2] === 'cluster-ip') {
      s.clusterIP = ip;
      s.port = dport;
    } else if (c[2] === 'external-ip') s.externalIPs.push(ip);
    else if (c[2] === 'lb-ip') s.loadBalancerIPs.push(ip);
    else s.nodePort = dport;
  }
}

/** external endpoints: the EXT chain's last jump, the SVC chain itself when the lists agree */
function readExternal(rules: Map<string, string[]>, byKey: Map<string, ServicePortState>): void {
  for (const s of byKey.values()) {
    s.externalIPs.sort();
    s.loadBalancerIPs.sort();
    const ext = rules.get(n.extChain(s.key));
    if (ext) {
      const last = / -j (SVP-\S+)$/.exec(ext[ext.length - 1] ?? '')?.[1];
      s.external = last === n.svcChain(s.key) ? s.internal : picks(rules, last ?? '');
    }
  }
}
