/**
 * Ownership record. IPVS virtual servers carry no name or comment, so
 * svcproxy records what it programmed: the service ports (keys and
 * metadata), the node addresses node ports were put on, the VIPs it bound,
 * and the dests left draining. Only virtual servers named here are ever
 * changed or deleted; services made by others (ipvsadm, keepalived) are
 * never touched, and nothing is flushed wholesale. The record lives in
 * /run/svcproxy/ipvs/, one per network namespace (name + inode, so a
 * recreated namespace of the same name does not inherit it); the kernel is
 * still the judge: read() reports only what the kernel really holds.
 *
 * On disk: a snapshot (<name>.json, replaced by rename) and a journal
 * (<name>.log, JSON lines appended after it). A change to one service
 * appends a line or two instead of rewriting 30,000 states; the journal is
 * folded into a new snapshot once it is as long as the snapshot. A line
 * torn by a crash is the last one and is ignored: it was written before
 * the kernel call it announces, so nothing it names was programmed.
 */
import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IpvsDestSpec, IpvsServiceSpec } from '../../native/ipvs.js';
import { isNetnsHandle, netnsName, type Netns } from '../../native/netns.js';
import type { ServicePortState } from '../../plan/types.js';

export const STATE_DIR = '/run/svcproxy/ipvs';
let stateDir = STATE_DIR;
/** Where records live (tests point it at a temporary directory). */
export function useStateDir(dir: string = STATE_DIR): void {
  stateDir = dir;
}

export interface Draining {
  service: IpvsServiceSpec;
  dest: IpvsDestSpec;
}

export interface IpvsRecord {
  version: 1;
  netns: string;
  holder: string;
  nodeIPs: string[];
  /** VIPs svcproxy bound on the holder */
  vips: Set<string>;
  /** by ServicePortState.key, endpoints left out (they are read back from the kernel) */
  states: Map<string, ServicePortState>;
  draining: Draining[];
  /** journal lines since the snapshot */
  journal: number;
}

/** One journal line. */
export type RecordEntry =
  | { set: ServicePortState }
  | { del: string }
  | { draining: Draining[] }
  | { vips: { add: string[]; del: string[] } }
  | { meta: { holder: string; nodeIPs: string[] } };

interface Snapshot {
  version: 1;
  netns: string;
  holder: string;
  nodeIPs: string[];
  vips: string[];
  states: ServicePortState[];
  draining: Draining[];
}

export const emptyRecord = (netns: string): IpvsRecord => ({
  version: 1,
  netns,
  holder: '',
  nodeIPs: [],
  vips: new Set(),
  states: new Map(),
  draining: [],
  journal: 0,
});

/** The state as recorded: no endpoint copies. */
export const recorded = (s: ServicePortState): ServicePortState => ({ ...s, internal: [], external: [] });

export function recordPath(ns: Netns): string {
  const netns = netnsName(ns);
  // a handle's inode: the namespace it opened, even if the name now names another
  const ino = isNetnsHandle(ns) ? ns.ino : statSync(netns === '' ? '/proc/self/ns/net' : netns.startsWith('/') ? netns : `/run/netns/${netns}`).ino;
  const name = (netns === '' ? 'current' : netns.split('/').filter(Boolean).join('_')).replace(/[^A-Za-z0-9_.-]/g, '_');
  return join(stateDir, `${name}-${ino}.json`);
}

const journalPath = (snapshot: string) => snapshot.replace(/\.json$/, '.log');

function replay(r: IpvsRecord, e: RecordEntry): void {
  if ('set' in e) r.states.set(e.set.key, e.set);
  else if ('del' in e) r.states.delete(e.del);
  else if ('draining' in e) r.draining = e.draining;
  else if ('vips' in e) {
    for (const a of e.vips.del) r.vips.delete(a);
    for (const a of e.vips.add) r.vips.add(a);
  } else if ('meta' in e) {
    r.holder = e.meta.holder;
    r.nodeIPs = e.meta.nodeIPs;
  }
}

export function loadRecord(netns: Netns): IpvsRecord {
  const r = emptyRecord(netnsName(netns));
  let path: string;
  try {
    path = recordPath(netns);
  } catch {
    return r;
  }
  try {
    const s = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
    if (s.version !== 1) return r;
    r.holder = s.holder;
    r.nodeIPs = s.nodeIPs;
    r.vips = new Set(s.vips);
    r.states = new Map(s.states.map((x) => [x.key, x]));
    r.draining = s.draining;
  } catch {
    // no snapshot yet: the journal alone may hold the first intent
  }
  let lines: string[] = [];
  try {
    lines = readFileSync(journalPath(path), 'utf8').split('\n');
  } catch {
    return r;
  }
  for (const line of lines) {
    if (line === '') continue;
    let e: RecordEntry;
    try {
      e = JSON.parse(line) as RecordEntry;
    } catch {
      break; // torn by a crash: the last line
    }
    replay(r, e);
    r.journal++;
  }
  return r;
}

/** Write the whole record as a new snapshot and drop the journal. */
export function saveRecord(netns: Netns, r: IpvsRecord): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = recordPath(netns);
  const snap: Snapshot = {
    version: 1,
    netns: r.netns,
    holder: r.holder,
    nodeIPs: r.nodeIPs,
    vips: [...r.vips],
    states: [...r.states.values()],
    draining: r.draining,
  };
  writeFileSync(`${path}.tmp`, JSON.stringify(snap));
  renameSync(`${path}.tmp`, path);
  // A crash between the rename and this leaves a journal already in the snapshot: replaying it again is harmless.
  rmSync(journalPath(path), { force: true });
  r.journal = 0;
}

/**
 * Apply entries to the record and append them to the journal, in one
 * write; folds the journal into a snapshot when it has grown as long as
 * the record itself (so a load costs at most twice the snapshot).
 */
export function appendRecord(netns: Netns, r: IpvsRecord, entries: RecordEntry[]): void {
  if (entries.length === 0) return;
  for (const e of entries) replay(r, e);
  r.journal += entries.length;
  if (r.journal > Math.max(1024, r.states.size)) {
    saveRecord(netns, r);
    return;
  }
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  appendFileSync(journalPath(recordPath(netns)), entries.map((e) => JSON.stringify(e)).join('\n') + '\n');
}

export function removeRecord(netns: Netns): void {
  const path = recordPath(netns);
  rmSync(path, { force: true });
  rmSync(journalPath(path), { force: true });
}
