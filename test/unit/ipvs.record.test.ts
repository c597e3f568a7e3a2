/**
 * IPVS mode's bookkeeping without a kernel: the ownership record's
 * snapshot + journal (what a restart after a crash reads back), and the
 * VIP reference counts that let one change bind or unbind only its VIPs.
 */
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendRecord, loadRecord, recordPath, recorded, removeRecord, saveRecord, useStateDir } from '../../src/dataplanes/ipvs/state.js';
import { VipRefs } from '../../src/dataplanes/ipvs/vips.js';
import type { ServicePortState } from '../../src/plan/types.js';
import { portState } from '../support/states.js';

const dir = mkdtempSync(join(tmpdir(), 'svp-ipvs-record-'));
// recordPath() names a record after the namespace file's inode: any file stands in for one here.
const nsFile = join(dir, 'ns');

const port = (i: number, ip = `10.96.0.${i}`): ServicePortState =>
  portState({ namespace: 'd', name: `s${i}`, portName: 'http', clusterIP: ip, external: [] }, [{ address: '10.244.0.1', port: 8080 }]);

beforeAll(() => {
  writeFileSync(nsFile, '');
  useStateDir(join(dir, 'state'));
});
afterAll(() => {
  useStateDir();
  rmSync(dir, { recursive: true, force: true });
});

describe('IPVS ownership record', () => {
  it('a journal replayed over the snapshot gives the same record, with no endpoint copies', () => {
    const r = loadRecord(nsFile);
    expect(r.states.size).toBe(0);
    appendRecord(nsFile, r, [{ meta: { holder: 'svcproxy0', nodeIPs: ['10.250.0.1'] } }]);
    for (let i = 1; i <= 5; i++) r.states.set(port(i).key, recorded(port(i)));
    r.vips = new Set(['10.96.0.1', '10.96.0.2', '10.96.0.3', '10.96.0.4', '10.96.0.5']);
    saveRecord(nsFile, r);
    appendRecord(nsFile, r, [{ set: recorded(port(6)) }, { vips: { add: ['10.96.0.6'], del: [] } }]);
    appendRecord(nsFile, r, [{ del: port(2).key }, { vips: { add: [], del: ['10.96.0.2'] } }]);
    const draining = [{ service: { family: 4 as const, protocol: 6, address: '10.96.0.1', port: 80 }, dest: { address: '10.244.0.1', port: 8080, fwd: 0, weight: 0 } }];
    appendRecord(nsFile, r, [{ draining }]);
    const back = loadRecord(nsFile);
    expect([...back.states.keys()].sort()).toEqual([1, 3, 4, 5, 6].map((i) => port(i).key).sort());
    expect(back.states.get(port(6).key)!.internal).toEqual([]);
    expect([...back.vips].sort()).toEqual(['10.96.0.1', '10.96.0.3', '10.96.0.4', '10.96.0.5', '10.96.0.6']);
    expect(back.draining).toEqual(draining);
    expect(back.holder).toBe('svcproxy0');
    expect(back.nodeIPs).toEqual(['10.250.0.1']);
    expect(back.journal).toBe(5);
  });

  it('a line torn by a crash is ignored, the lines before it are kept', () => {
    const log = recordPath(nsFile).replace(/\.json$/, '.log');
    appendFileSync(log, JSON.stringify({ set: recorded(port(7)) }) + '\n' + '{"set":{"key":"d/s8:ht');
    const back = loadRecord(nsFile);
    expect(back.states.has(port(7).key)).toBe(true);
    expect(back.states.has('d/s8:ht')).toBe(false);
    expect(back.states.size).toBe(6);
  });

  it('the journal is folded into a new snapshot once it outgrows the record', () => {
    const r = loadRecord(nsFile);
    for (let i = 0; i < 1100; i++) appendRecord(nsFile, r, [{ draining: [] }]);
    const log = recordPath(nsFile).replace(/\.json$/, '.log');
    expect(readFileSync(log, 'utf8').split('\n').filter(Boolean).length).toBeLessThan(1100);
    const back = loadRecord(nsFile);
    expect([...back.states.keys()].sort()).toEqual([...r.states.keys()].sort());
    expect(back.draining).toEqual([]);
  });

  it('removeRecord leaves nothing behind', () => {
    removeRecord(nsFile);
    expect(readdirSync(join(dir, 'state'))).toEqual([]);
    expect(loadRecord(nsFile).states.size).toBe(0);
  });
});

describe('VIP reference counts', () => {
  it('binds a VIP with its first port and unbinds it with its last', () => {
    const refs = new VipRefs(['10.96.0.1', '10.96.0.1', '10.96.0.2']);
    expect([...refs.addresses()].sort()).toEqual(['10.96.0.1', '10.96.0.2']);
    // one of two ports of 10.96.0.1 goes: nothing to unbind
    expect(refs.change(['10.96.0.1'], [])).toEqual({ add: [], del: [] });
    // the second goes too
    expect(refs.change(['10.96.0.1'], [])).toEqual({ add: [], del: ['10.96.0.1'] });
    // a new service, and a port moving from one VIP to another
    expect(refs.change([], ['10.96.0.3'])).toEqual({ add: ['10.96.0.3'], del: [] });
    expect(refs.change(['10.96.0.2'], ['10.96.0.4'])).toEqual({ add: ['10.96.0.4'], del: ['10.96.0.2'] });
    // a changed port keeping its VIP touches nothing
    expect(refs.change(['10.96.0.3'], ['10.96.0.3'])).toEqual({ add: [], del: [] });
    expect([...refs.addresses()].sort()).toEqual(['10.96.0.3', '10.96.0.4']);
  });
});
