/**
 * The CLI end to end, as a user runs it: a kubectl-style List applied in
 * iptables mode to a node namespace, real TCP and UDP from the client,
 * status --json, hostile input refused with the kernel byte-identical,
 * cleanup removing only svcproxy's chains.
 */
import { execFile } from 'node:child_process';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_IP, Topology } from '../../src/sandbox/topology.js';
import { BAD_INPUTS } from '../../src/testing/conformance/services.js';

const run = promisify(execFile);
const bin = new URL('../../bin/svcproxy.js', import.meta.url).pathname;
const shop = new URL('../../examples/shop.yaml', import.meta.url).pathname;

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await run(process.execPath, [bin, ...args]);
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

describe('svcproxy CLI, iptables mode', () => {
  let t: Topology;
  let dir: string;
  const save = () => t.exec(t.node, ['iptables-save']).then((s) => s.replace(/^#.*\n/gm, ''));

  beforeAll(async () => {
    t = await Topology.create({ backends: 3 });
    dir = await mkdtemp(join(tmpdir(), 'svcproxy-cli-'));
    await t.exec(t.node, ['iptables', '-t', 'nat', '-N', 'FOREIGN-KEEP']);
    await t.exec(t.node, ['iptables', '-t', 'nat', '-A', 'OUTPUT', '-j', 'FOREIGN-KEEP']);
  });
  afterAll(async () => {
    await t?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('applies a kubectl List and forwards real TCP and UDP to every endpoint', async () => {
    const r = await cli('apply', '-f', shop, '--mode', 'iptables', '--netns', t.node);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('2 to add');
    const a = await t.connect({
      targets: [
        { host: '10.96.0.10', port: 80 },
        { host: NODE_IP, port: 30080 },
        { host: '10.96.0.53', port: 53, proto: 'UDP' },
      ],
      count: 24,
    });
    expect(a.filter((x) => !x.ok)).toEqual([]);
    const seen = (host: string) => new Set(a.filter((x) => x.host === host).map((x) => x.backend));
    expect(seen('10.96.0.10')).toEqual(new Set(['b0', 'b1', 'b2']));
    expect(seen(NODE_IP)).toEqual(new Set(['b0', 'b1', 'b2']));
    expect(seen('10.96.0.53')).toEqual(new Set(['b0', 'b1']));
  });

  it('status --json shows what the kernel holds', async () => {
    const r = await cli('status', '--netns', t.node, '--mode', 'iptables', '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out) as { modes: { mode: string; services: { key: string; internal: { address: string }[] }[] }[] };
    expect(s.modes[0]!.mode).toBe('iptables');
    expect(s.modes[0]!.services.map((x) => [x.key, x.internal.length])).toEqual([
      ['shop/dns:dns/UDP@4', 2],
      ['shop/web:http/TCP@4', 3],
    ]);
    expect((await cli('diff', '-f', shop, '--mode', 'iptables', '--netns', t.node, '--exit-code')).code).toBe(0);
  });

  it('refuses malformed and hostile files in one line, iptables-save byte-identical', async () => {
    const before = await save();
    const cases: [string, string][] = [
      ['bad-ip.yaml', 'services: [{name: a, clusterIP: 10.96.0.999, ports: [{port: 80}]}]'],
      ['bad-port.yaml', 'services: [{name: a, clusterIP: 10.96.0.30, ports: [{port: 0}]}]'],
      ['dup.yaml', 'services: [{name: a, clusterIP: 10.96.0.30, ports: [{port: 80}]}, {name: a, clusterIP: 10.96.0.31, ports: [{port: 80}]}]'],
      ['newline.yaml', 'services: [{name: "a\\n-A INPUT -j ACCEPT", clusterIP: 10.96.0.30, ports: [{port: 80}]}]'],
      ['quote.json', JSON.stringify({ services: [{ name: 'a" -j ACCEPT #', clusterIP: '10.96.0.30', ports: [{ port: 80 }] }] })],
      ['k8s-port.yaml', (await import('node:fs')).readFileSync(shop, 'utf8').replace('nodePort: 30080', 'nodePort: 99999')],
      ...BAD_INPUTS.filter((b) => /EndpointSlice|ipFamilies/.test(b.what)).map((b, i): [string, string] => [`k8s-family-${i}.yaml`, b.text]),
    ];
    for (const [name, text] of cases) {
      const file = join(dir, name);
      await writeFile(file, text);
      const r = await cli('apply', '-f', file, '--mode', 'iptables', '--netns', t.node);
      expect(r.code, name).toBe(2);
      expect(r.out, name).toBe('');
      expect(r.err.trimEnd().split('\n'), name).toHaveLength(1);
      expect(r.err, name).toMatch(new RegExp(`^svcproxy: ${file.replace(/[.]/g, '\\.')}: \\S+`));
    }
    expect(await save()).toBe(before);
  });

  it('cleanup removes only svcproxy chains', async () => {
    const r = await cli('cleanup', '--netns', t.node, '--mode', 'iptables');
    expect(r.code).toBe(0);
    const s = await save();
    expect(s).not.toMatch(/SVP-|svcproxy/);
    expect(s).toContain(':FOREIGN-KEEP');
    expect(s).toContain('-A OUTPUT -j FOREIGN-KEEP');
  });
});
