/**
 * encode.ts/decode.ts and the addon must agree on the packed element format:
 * compile native/nft/packed.h (its one definition) with the kernel headers
 * and compare every value the TS side uses, then check a packed element's
 * field offsets as encode.ts writes them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packOps } from '../../src/dataplanes/nftables/encode.js';
import { SERVICE_IPS } from '../../src/dataplanes/nftables/names.js';
import * as P from '../../src/dataplanes/nftables/packed.js';

const dir = mkdtempSync(join(tmpdir(), 'svp-packed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const C_NAMES: Record<string, number> = {
  SVP_NFT_VERB_ADD: P.VERB.add,
  SVP_NFT_VERB_DELETE: P.VERB.delete,
  SVP_NFT_DATA_NONE: P.DATA_NONE,
  SVP_NFT_DATA_VALUE: P.DATA_VALUE,
  SVP_NFT_DATA_VERDICT: P.DATA_VERDICT,
  SVP_NFT_COUNT_SIZE: P.COUNT_SIZE,
  SVP_NFT_VERDICT_CODE_SIZE: P.VERDICT_CODE_SIZE,
  SVP_NFT_MAX_FIELD: P.MAX_FIELD,
  NFPROTO_IPV4: P.NFPROTO_IPV4,
  NFPROTO_IPV6: P.NFPROTO_IPV6,
  NF_DROP: P.NF_DROP,
  NFT_JUMP: P.NFT_JUMP,
  NFT_GOTO: P.NFT_GOTO,
};

function compiledValues(): Record<string, number> {
  const lines = Object.keys(C_NAMES).map((c) => `printf("%s %ld\\n", "${c}", (long)(${c}));`);
  const src = `#include <stdio.h>\n#include <linux/netfilter.h>\n#include <linux/netfilter/nf_tables.h>\n#include "packed.h"\nint main(void) {\n${lines.join('\n')}\nreturn 0;\n}\n`;
  writeFileSync(join(dir, 'packed.c'), src);
  execFileSync('cc', ['-I', resolve('native/nft'), '-o', join(dir, 'packed'), join(dir, 'packed.c')]);
  const out = execFileSync(join(dir, 'packed'), { encoding: 'utf8' });
  return Object.fromEntries(out.trim().split('\n').map((l) => [l.split(' ')[0]!, Number(l.split(' ')[1])]));
}

describe('nftables packed element format', () => {
  it('every constant the TS encoder and decoder use matches native/nft/packed.h and the kernel headers', () => {
    const c = compiledValues();
    for (const [name, ts] of Object.entries(C_NAMES)) expect({ name, value: c[name] }).toEqual({ name, value: ts });
  });

  it('an op header and a verdict element sit at the offsets packed.h draws', () => {
    const b = Buffer.from(packOps([{ verb: 'add', family: 4, table: 'svcproxy', set: SERVICE_IPS, elems: [{ set: SERVICE_IPS, key: ['10.96.0.1', 'tcp', 80], verdict: { kind: 'goto', chain: 'svc-x' }, comment: 'c' }] }]));
    let at = 0;
    expect(b[at++]).toBe(P.VERB.add);
    expect(b[at++]).toBe(P.NFPROTO_IPV4);
    expect(b.toString('latin1', at + 1, at + 1 + b[at]!)).toBe('svcproxy');
    at += 1 + b[at]!;
    expect(b.toString('latin1', at + 1, at + 1 + b[at]!)).toBe(SERVICE_IPS);
    at += 1 + b[at]!;
    expect(b.readUInt32LE(at)).toBe(1);
    at += P.COUNT_SIZE;
    expect(b[at]).toBe(12); // addr 4 . proto 4 . port 4
    at += 1 + b[at]!;
    expect(b[at++]).toBe(P.DATA_VERDICT);
    expect(b.readInt32LE(at)).toBe(P.NFT_GOTO);
    at += P.VERDICT_CODE_SIZE;
    expect(b.toString('latin1', at + 1, at + 1 + b[at]!)).toBe('svc-x');
    at += 1 + b[at]!;
    expect(b.toString('latin1', at + 1, at + 1 + b[at]!)).toBe('c');
    expect(at + 1 + b[at]!).toBe(b.length);
  });
});
