import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadFile, parseServices } from '../../src/model/load.js';
import { readJsonItems } from '../../src/model/jsonitems.js';
import { service, slice, writeList } from '../../bench/input-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'svp-model-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const list = (items: unknown[], indent = 4) => JSON.stringify({ apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } }, null, indent);

describe('loadFile: kubectl List JSON one item at a time', () => {
  it('reads the same set as the whole-document path, JSON and YAML', async () => {
    const json = join(dir, 'l.json');
    const yaml = join(dir, 'l.yaml');
    await writeList({ n: 40, endpoints: 3, format: 'json', out: json });
    await writeList({ n: 40, endpoints: 3, format: 'yaml', out: yaml });
    const { readFileSync } = await import('node:fs');
    const whole = parseServices(readFileSync(json, 'utf8'), json);
    expect(whole.services).toHaveLength(40);
    expect(await loadFile(json)).toEqual(whole);
    expect(await loadFile(yaml)).toEqual(parseServices(readFileSync(yaml, 'utf8'), yaml));
    expect((await loadFile(yaml)).services).toEqual(whole.services);
  });

  it('hands out every item whole whatever the chunk size, strings with brackets, escapes and UTF-8 included', async () => {
    const items = [{ kind: 'X', s: 'a}]{["\\"\u00e9\u4e2d' }, service(1), slice(1, 2), { kind: 'Y', nested: [[{}], { a: '}' }] }];
    const p = file('chunks.json', list(items));
    for (const chunk of [1, 3, 7, 64, 1 << 20]) {
      const got: unknown[] = [];
      expect(await readJsonItems(p, (t, i) => (got[i] = JSON.parse(t)) !== undefined, chunk)).toBe(true);
      expect(got).toEqual(items);
    }
  });

  it('declines what is not a List of objects, so the ordinary path decides', async () => {
    const none = () => true;
    for (const text of ['[1]', '{"kind":"Service"}', '{"items":[1]}', '{"items":[[]]}', '{"services":[],"items":[]}', `${list([])} x`, '{"items":[{}]']) {
      expect(await readJsonItems(file('odd.json', text), none), text).toBe(false);
    }
  });

  it('names the field of the first invalid item, and reports a later syntax error first, as the whole-document path', async () => {
    const bad = { ...service(2), spec: { ...(service(2) as { spec: object }).spec, sessionAffinity: 'Sometimes' } };
    await expect(loadFile(file('bad.json', list([service(1), bad, { kind: 'Service', apiVersion: 'v1' }])))).rejects.toMatchObject({ code: 'EINVAL', field: 'items[1].spec.sessionAffinity' });
    const broken = list([bad, service(3)]).replace('"svc-3"', '"svc-3" "x"');
    await expect(loadFile(file('broken.json', broken))).rejects.toMatchObject({ code: 'EINVAL', field: expect.stringMatching(/^line \d+ column \d+$/) });
    await expect(loadFile(file('missing-kind.json', list([{ apiVersion: 'v1' }])))).rejects.toMatchObject({ field: 'items[0].kind' });
  });

  it('drops the fields kube-proxy never reads (compact model), keeping what it does', async () => {
    const set = await loadFile(file('one.json', list([service(5), slice(5, 2)])));
    expect(set.services[0]).toMatchObject({ name: 'svc-5', namespace: 'team-5', clusterIPs: ['10.96.0.5'] });
    expect(set.services[0]!.endpoints.map((e) => [e.address, e.nodeName, e.zone, e.ready])).toEqual([
      ['10.128.0.20', 'node-0', 'zone-0', true],
      ['10.128.0.21', 'node-1', 'zone-1', true],
    ]);
  });
});
