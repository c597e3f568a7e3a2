/** decode.ts reads back exactly what encode.ts packs (the dump's element layout is the batch's). */
import { describe, expect, it } from 'vitest';
import { decodeDump } from '../../src/dataplanes/nftables/decode.js';
import { ElementPacker, packBatch, type Elem } from '../../src/dataplanes/nftables/encode.js';
import { EXTERNAL_RECORD_SLOT } from '../../src/dataplanes/nftables/names.js';
import type { Family } from '../../src/plan/types.js';

/** the elements of one packed add op, without its op header */
function packed(family: Family, elems: Elem[]): Buffer {
  const k = new ElementPacker('add', family, 't');
  for (const e of elems) k.push(e);
  const b = Buffer.from(packBatch([k]));
  const header = 2 + 1 + 't'.length + 1 + elems[0]!.set.length + 4;
  return b.subarray(header);
}

describe('nftables dump decoding', () => {
  it('service-ips: keys, goto and drop verdicts, comments', () => {
    const elems: Elem[] = [
      { set: 'service-ips', key: ['10.96.0.1', 'tcp', 80], verdict: { kind: 'goto', chain: 'cluster-4' }, comment: 'ns/web port=http has-endpoints' },
      { set: 'service-ips', key: ['192.0.2.7', 'udp', 53], verdict: { kind: 'drop' }, comment: 'external-ip 10.96.0.1' },
      { set: 'service-ips', key: ['10.96.0.2', 'sctp', 9], verdict: { kind: 'goto', chain: 'no-endpoints' } },
    ];
    expect(decodeDump('service-ips', 4, packed(4, elems), elems.length)).toEqual(elems);
  });

  it('endpoints: slots (external records too) and address . port values, IPv4 and IPv6', () => {
    const v4: Elem[] = [
      { set: 'endpoints', key: ['10.96.0.1', 'tcp', 80, 0], value: ['10.244.0.10', 8080] },
      { set: 'endpoints', key: ['10.96.0.1', 'tcp', 80, EXTERNAL_RECORD_SLOT + 1], value: ['10.244.0.11', 65535] },
    ];
    expect(decodeDump('endpoints', 4, packed(4, v4), v4.length)).toEqual(v4);
    const v6: Elem[] = [
      { set: 'endpoints', key: ['fd00::10', 'udp', 53, 3], value: ['fd00::1:a', 8053] },
      { set: 'endpoints', key: ['2001:db8:0:1:0:0:0:1', 'tcp', 443, 0], value: ['fd00:0:0:1::2', 443] },
    ];
    const back = decodeDump('endpoints', 6, packed(6, v6), v6.length)!;
    // addresses come back in the compressed form (RFC 5952), as the model writes them
    expect(back.map((e) => [e.key[0], e.value![0]])).toEqual([
      ['fd00::10', 'fd00::1:a'],
      ['2001:db8:0:1::1', 'fd00:0:0:1::2'],
    ]);
  });

  it('refuses a layout it did not write (wrong key length, trailing bytes)', () => {
    const e: Elem[] = [{ set: 'service-ips', key: ['10.96.0.1', 'tcp', 80], verdict: { kind: 'drop' } }];
    expect(decodeDump('endpoints', 4, packed(4, e), 1)).toBeUndefined();
    expect(decodeDump('service-ips', 4, Buffer.concat([packed(4, e), Buffer.from([0])]), 1)).toBeUndefined();
  });
});
