/**
 * Ownership record. IPVS virtual servers carry no name or comment, so
 * svcproxy records what it programmed: the service ports (keys and
 * metadata), the node addresses node ports were put on, the VIPs it bound,
 * and the dests left draining. Only virtual servers named here are ever
 * changed or deleted; services made by others (ipvsadm, keepalived) are
 * never touched, and nothing is flushed wholesale. The record lives in
 * /run/svcproxy/ipvs/, one file per network namespace (name + inode, so a
 * recreated namespace of the same name does not inherit it); the kernel is
 * still the judge: read() reports only what the kernel really holds.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IpvsDestSpec, IpvsServiceSpec } from '../../native/ipvs.js';
import type { ServicePortState } from '../../plan/types.js';

export const STATE_DIR = '/run/svcproxy/ipvs';

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
  vips: string[];
  states: ServicePortState[];
  draining: Draining[];
}

export const emptyRecord = (netns: string): IpvsRecord => ({ version: 1, netns, holder: '', nodeIPs: [], vips: [], states: [], draining: [] });

export function recordPath(netns: string): string {
  const path = netns === '' ? '/proc/self/ns/net' : netns.startsWith('/') ? netns : `/run/netns/${netns}`;
  const ino = statSync(path).ino;
  const name = (netns === '' ? 'current' : netns.split('/').filter(Boolean).join('_')).replace(/[^A-Za-z0-9_.-]/g, '_');
  return join(STATE_DIR, `${name}-${ino}.json`);
}

export function loadRecord(netns: string): IpvsRecord {
  try {
    const r = JSON.parse(readFileSync(recordPath(netns), 'utf8')) as IpvsRecord;
    return r.version === 1 ? r : emptyRecord(netns);
  } catch {
    return emptyRecord(netns);
  }
}

export function saveRecord(netns: string, r: IpvsRecord): void {
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
  const path = recordPath(netns);
  writeFileSync(`${path}.tmp`, JSON.stringify(r));
  renameSync(`${path}.tmp`, path);
}

export function removeRecord(netns: string): void {
  rmSync(recordPath(netns), { force: true });
}
