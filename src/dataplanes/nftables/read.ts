/**
 * Kernel -> ServicePortState[]: parse libnftables' JSON listing of svcproxy's
 * table (`list table`), using only what svcproxy writes: chain names carry
 * the identity, map elements the frontends, rules the endpoints, and the
 * svc chain's rule comment the policy bits (affinity, Local, has-endpoints).
 * Used only by read(), to recover after a restart; syncs never list.
 */
import { sortBackends } from '../../plan/flatten.js';
import type { Backend, Family, ServicePortState } from '../../plan/types.js';
import { EXTERNAL_IP_COMMENT, LB_IP_COMMENT, SERVICE_IPS, SERVICE_NODEPORTS, parseMetaComment, parseName, type PortIdentity } from './names.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

interface Collected {
  id: PortIdentity;
  clusterIP?: string;
  port?: number;
  nodePort: number | null;
  externalIPs: string[];
  loadBalancerIPs: string[];
  svcRules: Json[];
  extRules?: Json[];
}

/** `nft -j list table` output of one family's table -> states, sorted by key. */
export function parseTable(json: string, family: Family): ServicePortState[] {
  const items: Json[] = JSON.parse(json).nftables ?? [];
  const ports = new Map<string, Collected>();
  const portOf = (id: PortIdentity) => {
    const k = `${id.namespace}/${id.name}/${id.protocol}/${id.portName}`;
    let c = ports.get(k);
    if (!c) ports.set(k, (c = { id, nodePort: null, externalIPs: [], loadBalancerIPs: [], svcRules: [] }));
    return c;
  };
  const rules = new Map<string, Json[]>();
  for (const it of items) {
    if (it.chain) {
      const p = parseName(it.chain.name);
      if (p && (p.kind === 'svc' || p.kind === 'ext')) portOf(p.id);
    } else if (it.rule) {
      const list = rules.get(it.rule.chain) ?? [];
      list.push(it.rule);
      rules.set(it.rule.chain, list);
    }
  }
  for (const it of items) {
    const m = it.map;
    if (!m || (m.name !== SERVICE_IPS && m.name !== SERVICE_NODEPORTS)) continue;
    for (const [rawKey, verdict] of (m.elem ?? []) as Json[]) {
      const target = verdict?.goto?.target;
      const p = typeof target === 'string' ? parseName(target) : undefined;
      if (!p) continue;
      const keyed = rawKey.elem ? rawKey.elem.val : rawKey;
      const comment: string | undefined = rawKey.elem?.comment;
      const parts: Json[] = keyed.concat ?? [];
      const c = portOf(p.id);
      if (m.name === SERVICE_NODEPORTS) c.nodePort = Number(parts[1]);
      else if (comment === EXTERNAL_IP_COMMENT) c.externalIPs.push(String(parts[0]));
      else if (comment === LB_IP_COMMENT) c.loadBalancerIPs.push(String(parts[0]));
      else {
        c.clusterIP = String(parts[0]);
        c.port = Number(parts[2]);
      }
    }
  }
  const out: ServicePortState[] = [];
  for (const c of ports.values()) {
    const svcRules = rules.get(`svc-${nameSuffix(c.id)}`) ?? [];
    const extRules = rules.get(`ext-${nameSuffix(c.id)}`);
    const metaRule = svcRules.find((r) => parseMetaComment(r.comment) !== undefined);
    const meta = parseMetaComment(metaRule?.comment);
    if (!meta || c.clusterIP === undefined || c.port === undefined) continue; // not a complete svcproxy port
    const internal = endpointsOf(svcRules);
    const { id } = c;
    out.push({
      key: `${id.namespace}/${id.name}:${id.portName}/${id.protocol}@${family}`,
      namespace: id.namespace,
      name: id.name,
      portName: id.portName,
      protocol: id.protocol,
      family,
      clusterIP: c.clusterIP,
      port: c.port,
      nodePort: c.nodePort,
      externalIPs: c.externalIPs.sort(),
      loadBalancerIPs: c.loadBalancerIPs.sort(),
      affinitySeconds: meta.affinitySeconds,
      externalLocal: meta.externalLocal,
      internal,
      external: extRules ? endpointsOf(extRules) : internal,
      hasEndpoints: meta.hasEndpoints,
    });
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

const nameSuffix = (id: PortIdentity) => `${id.namespace}/${id.name}/${id.protocol.toLowerCase()}/${id.portName}`;

/** The endpoints a svc/ext chain dispatches to: dnat targets, or affinity endpoint chains (deduplicated by sortBackends). */
function endpointsOf(chainRules: Json[]): Backend[] {
  const found: Backend[] = [];
  for (const r of chainRules) {
    for (const e of r.expr ?? []) {
      if (e.dnat) {
        const a = e.dnat.addr;
        if (typeof a === 'string') found.push({ address: a, port: Number(e.dnat.port) });
        else for (const [, v] of a?.map?.data?.set ?? []) found.push({ address: String(v.concat[0]), port: Number(v.concat[1]) });
      } else if (e.goto) {
        const p = parseName(e.goto.target ?? '');
        if (p?.kind === 'ep' && p.backend) found.push(p.backend);
      }
    }
  }
  return sortBackends(found);
}

/** Tables in a `list tables` JSON answer, as "family name". */
export function tableNames(json: string): string[] {
  const items: Json[] = JSON.parse(json).nftables ?? [];
  return items.filter((i) => i.table).map((i) => `${i.table.family} ${i.table.name}`);
}

/** libnftables version from the metainfo of any JSON answer. */
export function jsonVersion(json: string): string | undefined {
  const items: Json[] = JSON.parse(json).nftables ?? [];
  return items.find((i) => i.metainfo)?.metainfo.version;
}
