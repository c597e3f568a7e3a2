/**
 * The native ipset binding (IPVS mode's hairpin and filter sets) against a real kernel,
 * in a fresh network namespace: create, add, test, del, swap, destroy, the
 * kernel's errors by name, and bad input refused before anything is sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipsetApply, ipsetBatch, ipsetNames, type IpsetOp } from '../../src/native/ipset.js';
import { sh, shSync } from '../../src/sandbox/shell.js';

const ns = `svp-ipset-${process.pid}`;
const set = (name: string, maxelem = 65536): IpsetOp => ({ cmd: 'create', name, type: 'hash:ip,port,ip', revision: 1, family: 4, hashsize: 1024, maxelem });
const entry = (i: number) => ({ ip: `10.244.0.${i}`, port: 8080, proto: 6, ip2: `10.244.0.${i}` });

beforeAll(() => sh(['ip', 'netns', 'add', ns]));
afterAll(() => shSync(['ip', 'netns', 'del', ns]));

describe('ipset over nfnetlink', () => {
  it('creates, fills, tests, swaps and destroys sets; an add of an entry already there and a repeated create are no error', async () => {
    await ipsetApply(ns, [set('A'), set('A'), ...[1, 2, 3].map((i): IpsetOp => ({ cmd: 'add', name: 'A', entry: entry(i) })), { cmd: 'add', name: 'A', entry: entry(1) }]);
    expect((await ipsetNames(ns)).sort()).toEqual(['A']);
    const test = (name: string, i: number): IpsetOp => ({ cmd: 'test', name, entry: entry(i) });
    // test answers IPSET_ERR_EXIST for an entry that is not there
    expect((await ipsetBatch(ns, [test('A', 1), test('A', 3), test('A', 4)])).map((e) => [e.index, e.code])).toEqual([[2, 'IPSET_ERR_EXIST']]);
    await ipsetApply(ns, [set('B', 1 << 18), { cmd: 'add', name: 'B', entry: entry(9) }, { cmd: 'swap', name: 'B', name2: 'A' }]);
    expect((await ipsetBatch(ns, [test('A', 9), test('A', 1), test('B', 1)])).map((e) => e.index)).toEqual([1]);
    await ipsetApply(ns, [{ cmd: 'del', name: 'B', entry: entry(1) }, { cmd: 'del', name: 'B', entry: entry(1) }]);
    expect((await ipsetBatch(ns, [test('B', 1), test('B', 2)])).map((e) => e.index)).toEqual([0]);
    await ipsetApply(ns, [{ cmd: 'destroy', name: 'A' }, { cmd: 'destroy', name: 'B' }]);
    expect(await ipsetNames(ns)).toEqual([]);
  });

  it('reports the kernel errors per op by name, and rejects with the first one', async () => {
    const errors = await ipsetBatch(ns, [
      // not there, and no NLM_F_EXCL: that is success
      { cmd: 'destroy', name: 'missing' },
      { cmd: 'create', name: 'C', type: 'hash:nosuchtype', revision: 0, family: 4, hashsize: 1024, maxelem: 10 },
      set('D'),
      { cmd: 'create', name: 'E', type: 'hash:ip', revision: 0, family: 4, hashsize: 1024, maxelem: 10 },
      { cmd: 'swap', name: 'D', name2: 'E' },
    ]);
    expect(errors.map((e) => [e.index, e.code])).toEqual([
      [1, 'IPSET_ERR_FIND_TYPE'],
      [4, 'IPSET_ERR_TYPE_MISMATCH'],
    ]);
    await expect(ipsetApply(ns, [{ cmd: 'add', name: 'missing', entry: entry(1) }])).rejects.toThrow(/^ipset: add missing failed: ENOENT$/);
    await ipsetApply(ns, [{ cmd: 'destroy', name: 'D' }, { cmd: 'destroy', name: 'E' }]);
  });

  it('hash:ip takes an address alone and hash:ip,port an address with proto:port (IPVS filter sets)', async () => {
    const create = (name: string, type: string): IpsetOp => ({ cmd: 'create', name, type, revision: 1, family: 4, hashsize: 1024, maxelem: 64 });
    await ipsetApply(ns, [
      create('VIPS', 'hash:ip'),
      create('PORTS', 'hash:ip,port'),
      { cmd: 'add', name: 'VIPS', entry: { ip: '10.96.0.1' } },
      { cmd: 'add', name: 'PORTS', entry: { ip: '10.96.0.1', port: 53, proto: 17 } },
    ]);
    const errors = await ipsetBatch(ns, [
      { cmd: 'test', name: 'VIPS', entry: { ip: '10.96.0.1' } },
      { cmd: 'test', name: 'VIPS', entry: { ip: '10.96.0.2' } },
      { cmd: 'test', name: 'PORTS', entry: { ip: '10.96.0.1', port: 53, proto: 17 } },
      { cmd: 'test', name: 'PORTS', entry: { ip: '10.96.0.1', port: 53, proto: 6 } },
    ]);
    expect(errors.map((e) => [e.index, e.code])).toEqual([
      [1, 'IPSET_ERR_EXIST'],
      [3, 'IPSET_ERR_EXIST'],
    ]);
    await ipsetApply(ns, [{ cmd: 'destroy', name: 'VIPS' }, { cmd: 'destroy', name: 'PORTS' }]);
  });

  it('refuses bad input before anything is sent', async () => {
    await expect(ipsetBatch(ns, [set('F'), { cmd: 'add', name: 'F', entry: { ...entry(1), ip: '10.0.0.300' } }])).rejects.toThrow(/ops\[1\]\.entry\.ip: not an IPv4 address/);
    await expect(ipsetBatch(ns, [set('x'.repeat(32))])).rejects.toThrow(/ops\[0\]\.name: 1\.\.31 characters/);
    expect(await ipsetNames(ns)).toEqual([]);
  });
});
