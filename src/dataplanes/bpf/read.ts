/** Map dumps -> ServicePortState[] (and the index sync.ts works from). */
import type { BpfMapDump } from '../../native/bpf.js';
import type { Backend, Family, ServicePortState } from '../../plan/types.js';
import { groupOf, parseKey, type Frontend, type Programmed } from './entries.js';
import {
  BACKEND,
  BACKEND_KEY,
  decodeAddr,
  KEY_LEN,
  META,
  PAGE_SLOTS,
  protoName,
  SERVICE_KEY,
  SERVICE_VALUE,
  SVP_F_CLUSTER_IP,
  SVP_F_EXTERNAL_IP,
  SVP_F_KINDS,
  SVP_F_LB_IP,
  SVP_M_AFFINITY,
  SVP_M_EXTERNAL_LOCAL,
  SVP_M_HAS_ENDPOINTS,
} from './layout.js';

export interface Dumps {
  meta: BpfMapDump;
  services: BpfMapDump;
  backends: BpfMapDump;
}

const isZero = (buf: Buffer, off: number, len: number) => {
  for (let i = off; i < off + len; i++) if (buf[i] !== 0) return false;
  return true;
};

/** meta id -> the frontends that point at it */
function decodeFrontends(d: BpfMapDump): Map<number, Frontend[]> {
  const byMeta = new Map<number, Frontend[]>();
  const K = SERVICE_KEY.fields;
  const V = SERVICE_VALUE.fields;
  for (let i = 0; i < d.count; i++) {
    const k = i * d.keySize;
    const v = i * d.valueSize;
    const family = d.keys[k + K.family!.offset] as Family;
    const proto = protoName(d.keys[k + K.proto!.offset]!);
    if (!proto) continue;
    const flags = d.values.readUInt32LE(v + V.flags!.offset) & SVP_F_KINDS; // not SVP_F_DROP: derived from the state
    const fe: Frontend = {
      addr: isZero(d.keys, k + K.addr!.offset, 16) ? '' : decodeAddr(d.keys, k + K.addr!.offset, family),
      port: d.keys.readUInt16BE(k + K.port!.offset),
      proto,
      family,
      flags,
      external: (flags & SVP_F_CLUSTER_IP) === 0,
    };
    const metaId = d.values.readUInt32LE(v + V.meta_id!.offset);
    const list = byMeta.get(metaId);
    if (list) list.push(fe);
    else byMeta.set(metaId, [fe]);
  }
  return byMeta;
}

interface GroupInfo {
  family: Family;
  count: number;
}

/** group -> its backends in slot order; pages of groups no meta record names are skipped */
function decodeBackends(d: BpfMapDump, groupsWanted: Map<number, GroupInfo>): Map<number, Backend[]> {
  const groups = new Map<number, Backend[]>();
  for (let i = 0; i < d.count; i++) {
    const k = i * d.keySize;
    const group = d.keys.readUInt32LE(k + BACKEND_KEY.fields.group!.offset);
    const info = groupsWanted.get(group);
    if (info === undefined) continue; // an old generation being retired
    const page = d.keys.readUInt32LE(k + BACKEND_KEY.fields.page!.offset);
    let list = groups.get(group);
    if (!list) groups.set(group, (list = new Array<Backend>(info.count)));
    for (let j = 0; j < PAGE_SLOTS; j++) {
      const slot = page * PAGE_SLOTS + j;
      if (slot >= info.count) break;
      const v = i * d.valueSize + j * BACKEND.size;
      list[slot] = { address: decodeAddr(d.values, v + BACKEND.fields.addr!.offset, info.family), port: d.values.readUInt16BE(v + BACKEND.fields.port!.offset) };
    }
  }
  return groups;
}

/** the slots actually present (a missing page leaves a hole: dropped, so the diff shows it) */
function slots(list: Backend[] | undefined): Backend[] {
  if (!list) return [];
  for (let i = 0; i < list.length; i++) if (list[i] === undefined) return list.filter((b) => b !== undefined);
  return list;
}

/** One svp_meta record, decoded. */
interface MetaRec {
  id: number;
  key: string;
  gen: number;
  flags: number;
  affinitySec: number;
  port: number;
  nodePort: number;
  internalCount: number;
  externalCount: number;
  externalGroup: number;
  parsed: NonNullable<ReturnType<typeof parseKey>>;
}

/** the internal backend group of a record's live generation */
const internalGroupOf = (m: MetaRec) => groupOf(m.id, m.gen, false);

/** meta records with a key svcproxy wrote, and the backend groups they name (with family and size) */
function decodeMetas(d: BpfMapDump): { metas: MetaRec[]; groupsWanted: Map<number, GroupInfo> } {
  const M = META.fields;
  const metas: MetaRec[] = [];
  const groupsWanted = new Map<number, GroupInfo>();
  for (let i = 0; i < d.count; i++) {
    const v = i * d.valueSize;
    const start = v + M.key!.offset;
    let end = start;
    while (end < start + KEY_LEN && d.values[end] !== 0) end++;
    const key = d.values.toString('latin1', start, end);
    const parsed = parseKey(key);
    if (!parsed) continue;
    const m: MetaRec = {
      id: d.keys.readUInt32LE(i * d.keySize),
      key,
      gen: d.values.readUInt32LE(v + M.gen!.offset),
      flags: d.values.readUInt32LE(v + M.flags!.offset),
      affinitySec: d.values.readUInt32LE(v + M.affinity_sec!.offset),
      port: d.values.readUInt16LE(v + M.port!.offset),
      nodePort: d.values.readUInt16LE(v + M.node_port!.offset),
      internalCount: d.values.readUInt32LE(v + M.internal_count!.offset),
      externalCount: d.values.readUInt32LE(v + M.external_count!.offset),
      externalGroup: d.values.readUInt32LE(v + M.external_group!.offset),
      parsed,
    };
    metas.push(m);
    groupsWanted.set(internalGroupOf(m), { family: parsed.family, count: m.internalCount });
    if (m.externalGroup !== internalGroupOf(m)) groupsWanted.set(m.externalGroup, { family: parsed.family, count: m.externalCount });
  }
  return { metas, groupsWanted };
}

/** A meta record with its frontends and backend groups, as the ServicePortState it was written from. */
function stateOf(m: MetaRec, fronts: Frontend[], groups: Map<number, Backend[]>): ServicePortState {
  const id = m.parsed;
  const cluster = fronts.find((fe) => fe.flags & SVP_F_CLUSTER_IP);
  // most ports have just their cluster IP: no filtering for them
  const onlyCluster = fronts.length === 1 && fronts[0]!.flags === SVP_F_CLUSTER_IP;
  const ips = (flag: number) => (onlyCluster ? [] : fronts.filter((fe) => fe.flags & flag).map((fe) => fe.addr).sort());
  const internal = slots(groups.get(internalGroupOf(m)));
  return {
    key: m.key,
    namespace: id.namespace,
    name: id.name,
    portName: id.portName,
    protocol: id.protocol,
    family: id.family,
    clusterIP: cluster?.addr ?? '',
    port: m.port,
    nodePort: m.nodePort === 0 ? null : m.nodePort,
    externalIPs: ips(SVP_F_EXTERNAL_IP),
    loadBalancerIPs: ips(SVP_F_LB_IP),
    affinitySeconds: m.flags & SVP_M_AFFINITY ? m.affinitySec : null,
    externalLocal: (m.flags & SVP_M_EXTERNAL_LOCAL) !== 0,
    internal,
    // a shared group is one list (nothing mutates states)
    external: m.externalGroup === internalGroupOf(m) ? internal : slots(groups.get(m.externalGroup)),
    hasEndpoints: (m.flags & SVP_M_HAS_ENDPOINTS) !== 0,
  };
}

export function decodeState(dumps: Dumps): Map<string, Programmed> {
  const frontendsByMeta = decodeFrontends(dumps.services);
  const { metas, groupsWanted } = decodeMetas(dumps.meta);
  const groups = decodeBackends(dumps.backends, groupsWanted);
  const index = new Map<string, Programmed>();
  for (const m of metas) {
    const frontends = frontendsByMeta.get(m.id) ?? [];
    index.set(m.key, { state: stateOf(m, frontends, groups), metaId: m.id, gen: m.gen, frontends });
  }
  return index;
}
