/**
 * The packed element batch (native/nft/elements.h) carries keys and values in
 * the kernel's register layout; these bytes are what `nft --debug=netlink`
 * showed for the same elements on the host kernel (10.96.0.1 . tcp . 80 . 3 :
 * 10.1.0.4 . 8080 -> "0100600a 00000006 00005000 00000003 : 0400010a 0000901f").
 */
import { endianness } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ipv6Bytes, opsText, packOps } from '../../src/dataplanes/nftables/encode.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('nftables element encoding', () => {
  it('packs an endpoint slot: op header, key in register layout, value, no comment', () => {
    const packed = packOps([
      { verb: 'add', family: 4, table: 'svcproxy', set: 'endpoints', elems: [{ set: 'endpoints', key: ['10.96.0.1', 'tcp', 80, 3], value: ['10.1.0.4', 8080] }] },
    ]);
    const slot = endianness() === 'LE' ? '03000000' : '00000003';
    expect(hex(packed)).toBe(
      '00' + '02' + // add, NFPROTO_IPV4
        '08' + hex(Buffer.from('svcproxy')) +
        '09' + hex(Buffer.from('endpoints')) +
        '01000000' + // one element
        '10' + '0a600001' + '06000000' + '00500000' + slot + // key: addr . proto . port . slot
        '01' + '08' + '0a010004' + '1f900000' + // value: addr . port
        '00', // no comment
    );
  });

  it('packs verdicts (goto chain, drop) and comments; deletes carry keys only', () => {
    const elems = [
      { set: 'service-ips' as const, key: ['10.96.0.1', 'udp', 53], verdict: { kind: 'goto' as const, chain: 'cluster-2' }, comment: 'ns/dns port=dns' },
      { set: 'service-ips' as const, key: ['10.96.0.2', 'tcp', 80], verdict: { kind: 'drop' as const } },
    ];
    const add = hex(packOps([{ verb: 'add', family: 4, table: 't', set: 'service-ips', elems }]));
    expect(add).toContain('0c' + '0a600001' + '11000000' + '00350000' + '02' + 'fcffffff' + '09' + hex(Buffer.from('cluster-2')) + '0f' + hex(Buffer.from('ns/dns port=dns')));
    expect(add.endsWith('0c' + '0a600002' + '06000000' + '00500000' + '02' + '00000000' + '00' + '00')).toBe(true);
    const del = hex(packOps([{ verb: 'delete', family: 4, table: 't', set: 'service-ips', elems }]));
    expect(del.endsWith('0c0a600002060000000050000000' + '00')).toBe(true);
    expect(opsText([{ verb: 'add', family: 4, table: 't', set: 'service-ips', elems }], (f, t) => `ip ${t}`)).toBe(
      'add element ip t service-ips { 10.96.0.1 . udp . 53 comment "ns/dns port=dns" : goto cluster-2, 10.96.0.2 . tcp . 80 : drop }\n',
    );
  });

  it('IPv6 addresses: compressed, full and v4-mapped forms', () => {
    expect(hex(Uint8Array.from(ipv6Bytes('fd00::1:a')))).toBe('fd000000000000000000000000010' + '00a');
    expect(hex(Uint8Array.from(ipv6Bytes('2001:db8:0:0:0:0:0:7')))).toBe('20010db8000000000000000000000007');
    expect(hex(Uint8Array.from(ipv6Bytes('::ffff:10.0.0.1')))).toBe('00000000000000000000ffff0a000001');
    expect(hex(Uint8Array.from(ipv6Bytes('::')))).toBe('0'.repeat(32));
  });
});
