/**
 * The TypeScript encoder and bpf/svcproxy.h must agree byte for byte: compile
 * a tiny C program that prints sizeof/offsetof of every struct TS encodes,
 * and the flag constants, and compare.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as L from '../../src/dataplanes/bpf/layout.js';

const dir = mkdtempSync(join(tmpdir(), 'svp-layout-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function compileAndRun(): Record<string, number> {
  const lines: string[] = [];
  for (const s of L.ALL_LAYOUTS) {
    lines.push(`printf("%s %zu\\n", "${s.name}.size", sizeof(struct ${s.name}));`);
    for (const [field, f] of Object.entries(s.fields)) {
      lines.push(`printf("%s %zu\\n", "${s.name}.${field}.offset", offsetof(struct ${s.name}, ${field}));`);
      lines.push(`printf("%s %zu\\n", "${s.name}.${field}.size", sizeof(((struct ${s.name} *)0)->${field}));`);
    }
  }
  const consts = ['SVP_F_CLUSTER_IP', 'SVP_F_NODE_PORT', 'SVP_F_EXTERNAL_IP', 'SVP_F_LB_IP', 'SVP_F_DROP', 'SVP_M_HAS_ENDPOINTS', 'SVP_M_EXTERNAL_LOCAL', 'SVP_M_AFFINITY', 'SVP_KEY_LEN', 'SVP_MAX_META', 'SVP_PAGE_SLOTS'];
  for (const c of consts) lines.push(`printf("%s %ld\\n", "${c}", (long)${c});`);
  const src = `#include <stddef.h>\n#include <stdio.h>\n#include "svcproxy.h"\nint main(void) {\n${lines.join('\n')}\nreturn 0;\n}\n`;
  writeFileSync(join(dir, 'layout.c'), src);
  execFileSync('cc', ['-I', resolve('bpf'), '-o', join(dir, 'layout'), join(dir, 'layout.c')]);
  const out = execFileSync(join(dir, 'layout'), { encoding: 'utf8' });
  return Object.fromEntries(out.trim().split('\n').map((l) => [l.split(' ')[0]!, Number(l.split(' ')[1])]));
}

describe('bpf map layouts', () => {
  const c = compileAndRun();

  for (const s of L.ALL_LAYOUTS) {
    it(`struct ${s.name} has the sizes and offsets the TS encoder uses`, () => {
      expect(c[`${s.name}.size`]).toBe(s.size);
      for (const [field, f] of Object.entries(s.fields)) {
        expect({ field, offset: c[`${s.name}.${field}.offset`], size: c[`${s.name}.${field}.size`] }).toEqual({ field, offset: f.offset, size: f.size });
      }
    });
  }

  it('flag values and limits match', () => {
    expect([c.SVP_F_CLUSTER_IP, c.SVP_F_NODE_PORT, c.SVP_F_EXTERNAL_IP, c.SVP_F_LB_IP, c.SVP_F_DROP]).toEqual([L.SVP_F_CLUSTER_IP, L.SVP_F_NODE_PORT, L.SVP_F_EXTERNAL_IP, L.SVP_F_LB_IP, L.SVP_F_DROP]);
    expect([c.SVP_M_HAS_ENDPOINTS, c.SVP_M_EXTERNAL_LOCAL, c.SVP_M_AFFINITY]).toEqual([L.SVP_M_HAS_ENDPOINTS, L.SVP_M_EXTERNAL_LOCAL, L.SVP_M_AFFINITY]);
    expect(c.SVP_KEY_LEN).toBe(L.KEY_LEN);
    expect(c.SVP_MAX_META).toBe(L.SVP_MAX_META);
    expect(c.SVP_PAGE_SLOTS).toBe(L.PAGE_SLOTS);
  });

  it('encodes addresses in network order and decodes them back canonically', () => {
    const b = Buffer.alloc(16);
    L.encodeAddr(b, 0, '10.96.0.1');
    expect([...b.subarray(0, 4)]).toEqual([10, 96, 0, 1]);
    expect(L.decodeAddr(b, 0, 4)).toBe('10.96.0.1');
    for (const ip of ['fd00::1', '2001:db8:0:1::a', '::', '::ffff:10.0.0.1', '1:2:3:4:5:6:7:8']) {
      L.encodeAddr(b, 0, ip);
      const back = L.decodeAddr(b, 0, 6);
      L.encodeAddr(b, 0, back);
      expect(L.decodeAddr(b, 0, 6)).toBe(back);
    }
    L.encodeAddr(b, 0, 'fd00::1');
    expect(b.toString('hex')).toBe('fd000000000000000000000000000001');
    expect(L.decodeAddr(b, 0, 6)).toBe('fd00::1');
  });

  it('encodes IPv4 without the generic parser, and refuses what is not an address', () => {
    const b = Buffer.alloc(16);
    L.encodeAddr(b, 0, '255.0.10.9');
    expect(b.toString('hex')).toBe('ff000a09000000000000000000000000');
    for (const bad of ['256.0.0.1', '1.2.3', '1.2.3.4.5', '1..2.3', '1.2.3.4 ', 'a.b.c.d', '1.2.3.1234', 'x'])
      expect(() => L.encodeAddr(Buffer.alloc(16), 0, bad), bad).toThrow(/not an IP address/);
  });
});
