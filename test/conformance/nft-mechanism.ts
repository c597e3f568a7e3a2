/**
 * The nftables mechanism's conformance suite: the same cases against the
 * in-memory fake (test/unit/nftables.mechanism.test.ts) and the addon in a
 * fresh network namespace (test/priv/nftables.mechanism.test.ts), so the
 * fake the dataplane's unit tests rely on answers as the kernel does.
 * The command texts are the ones the dataplane sends (ruleset.ts), plus the
 * refusals it must see: missing objects, references, duplicates, sizes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeDump } from '../../src/dataplanes/nftables/decode.js';
import { packOps, type Elem, type ElementOp } from '../../src/dataplanes/nftables/encode.js';
import type { NftMechanism } from '../../src/dataplanes/nftables/mechanism.js';
import { ENDPOINTS, SERVICE_IPS, SERVICE_META, familySyntax, type SetName } from '../../src/dataplanes/nftables/names.js';
import { pickRules, portObjects } from '../../src/dataplanes/nftables/objects.js';
import { liveTables, tableNames } from '../../src/dataplanes/nftables/read.js';
import { buildTable, chainDelta, dropTable, setSize, swapTables } from '../../src/dataplanes/nftables/ruleset.js';
import { SvcproxyError } from '../../src/errors.js';
import type { Family } from '../../src/plan/types.js';
import { endpointList, portState } from '../support/states.js';

export interface MechanismTarget {
  mech: NftMechanism;
  destroy(): Promise<void>;
}

const MASQ = { masqueradeAll: false, masqueradeBit: 0x2000 };
const T = 'svcproxy';
const SIZES = new Map<SetName, number>([SERVICE_IPS, 'service-nodeports', ENDPOINTS, 'nodeport-endpoints', SERVICE_META, 'hairpin'].map((n) => [n as SetName, setSize(0)]));
/** one shared pick chain, as the dataplane writes it */
const picks = (f: Family) => new Map([['cluster-1', pickRules('cluster', 1, familySyntax(f), MASQ)]]);

const ops = (verb: 'add' | 'delete', family: Family, set: SetName, elems: Elem[], table = T): ElementOp => ({ verb, family, table, set, elems });
const web = (ip = '10.96.0.10'): Elem => ({ set: SERVICE_IPS, key: [ip, 'tcp', 80], verdict: { kind: 'goto', chain: 'cluster-1' }, comment: 'ns/web port=http has-endpoints' });
const slot = (ip: string, n: number, backend = '10.244.0.10'): Elem => ({ set: ENDPOINTS, key: [ip, 'tcp', 80, n], value: [backend, 8080] });
const sortElems = (l: Elem[]) => [...l].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

/** An error's code, or 'none'. */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'none';
  } catch (e) {
    expect(e).toBeInstanceOf(SvcproxyError);
    return (e as SvcproxyError).code;
  }
}

export function describeNftMechanism(name: string, make: () => Promise<MechanismTarget>): void {
  describe(`nftables mechanism: ${name}`, () => {
    let t: MechanismTarget;
    let m: NftMechanism;
    beforeEach(async () => {
      t = await make();
      m = t.mech;
    });
    afterEach(async () => {
      await t?.destroy();
    });

    const chains = async () => {
      const json = JSON.parse(await m.run({ commands: 'list chains', json: true })) as { nftables: { chain?: Record<string, unknown> }[] };
      return json.nftables
        .filter((i) => i.chain)
        .map(({ chain: c }) => [c!.family, c!.table, c!.name, c!.hook ?? '-', c!.prio ?? '-', c!.policy ?? '-'].join(' '))
        .sort();
    };
    const dump = async (family: Family, set: SetName, table = T) => {
      const d = await m.dumpSet({ family, table, set });
      return sortElems(decodeDump(set, family, d.data, d.count)!);
    };
    const build = (family: Family = 4, table = T) => m.run({ commands: buildTable(family, table, picks(family), [], SIZES) });
    const write = (...o: ElementOp[]) => m.elements({ packed: packOps(o) });

    it('an empty namespace lists no chains', async () => {
      expect(await chains()).toEqual([]);
    });

    it('a built and swapped-in table lists its chains, the hooked ones with hook, priority and policy', async () => {
      await build(4, 'svcproxy-b');
      expect(liveTables(await m.run({ commands: 'list chains', json: true }))).toEqual([]);
      await m.run({ commands: swapTables(4, 'svcproxy-b', [], MASQ.masqueradeBit) });
      expect(await chains()).toEqual(
        [
          'ip svcproxy-b cluster-1 - - -',
          'ip svcproxy-b nat-output output -100 accept',
          'ip svcproxy-b nat-postrouting postrouting 100 accept',
          'ip svcproxy-b nat-prerouting prerouting -100 accept',
          'ip svcproxy-b no-endpoints - - -',
          'ip svcproxy-b services - - -',
        ].sort(),
      );
      const listing = await m.run({ commands: 'list chains', json: true });
      expect(tableNames(listing)).toEqual(['ip svcproxy-b']);
      expect(liveTables(listing)).toEqual(['ip svcproxy-b']);
    });

    it('elements written are dumped back exactly (verdicts, values, comments), IPv4 and IPv6', async () => {
      await build(4);
      await build(6);
      const v4 = [web(), { ...web('10.96.0.11'), verdict: { kind: 'drop' as const }, comment: undefined }, { ...web('10.96.0.12'), verdict: { kind: 'goto' as const, chain: 'no-endpoints' } }];
      const slots = [slot('10.96.0.10', 0), slot('10.96.0.10', 0x80000001, '10.244.0.11')];
      const meta: Elem[] = [{ set: SERVICE_META, key: ['10.96.0.10', 'udp', 53], comment: 'port=dns has-endpoints' }];
      const six = [{ ...web('fd00::10'), verdict: { kind: 'drop' as const } }];
      const r = await write(ops('add', 4, SERVICE_IPS, v4), ops('add', 4, ENDPOINTS, slots), ops('add', 4, SERVICE_META, meta), ops('add', 6, SERVICE_IPS, six));
      expect(r.elements).toBe(7);
      expect(await dump(4, SERVICE_IPS)).toEqual(sortElems(v4.map((e) => (e.comment === undefined ? { set: e.set, key: e.key, verdict: e.verdict } : e))));
      expect(await dump(4, ENDPOINTS)).toEqual(sortElems(slots));
      expect(await dump(4, SERVICE_META)).toEqual(meta);
      expect(await dump(6, SERVICE_IPS)).toEqual(six);
    });

    it('deletes remove exactly the named elements', async () => {
      await build();
      await write(ops('add', 4, ENDPOINTS, [0, 1, 2].map((n) => slot('10.96.0.10', n))));
      await write(ops('delete', 4, ENDPOINTS, [slot('10.96.0.10', 1)]));
      expect(await dump(4, ENDPOINTS)).toEqual(sortElems([slot('10.96.0.10', 0), slot('10.96.0.10', 2)]));
    });

    it('a duplicate element refuses the whole batch with EEXIST, naming its set', async () => {
      await build();
      await write(ops('add', 4, SERVICE_IPS, [web()]));
      const err = await write(ops('add', 4, ENDPOINTS, [slot('10.96.0.10', 0)]), ops('add', 4, SERVICE_IPS, [web()])).catch((e: unknown) => e);
      expect((err as SvcproxyError).code).toBe('EEXIST');
      expect((err as Error).message).toMatch(/File exists \(add element\(s\) 0-0 of set service-ips\)/);
      expect(await dump(4, ENDPOINTS)).toEqual([]);
    });

    it('refusals carry the errno: a missing element, set, verdict chain, a wrong key length', async () => {
      await build();
      expect(await codeOf(write(ops('delete', 4, ENDPOINTS, [slot('10.96.0.10', 0)])))).toBe('ENOENT');
      expect(await codeOf(write(ops('add', 4, SERVICE_IPS, [web()], 'absent')))).toBe('ENOENT');
      expect(await codeOf(write(ops('add', 4, SERVICE_IPS, [{ ...web(), verdict: { kind: 'goto', chain: 'cluster-2' } }])))).toBe('ENOENT');
      expect(await codeOf(write(ops('add', 4, SERVICE_IPS, [web('fd00::1')])))).toBe('EINVAL');
      expect(await dump(4, SERVICE_IPS)).toEqual([]);
    });

    it('a set declared with size N takes N elements and refuses the next (ENFILE)', async () => {
      await m.run({ commands: `table ip ${T} {\n\tmap ${SERVICE_IPS} { type ipv4_addr . inet_proto . inet_service : verdict; size 2; }\n}\n` });
      const drop = (ip: string): Elem => ({ set: SERVICE_IPS, key: [ip, 'tcp', 80], verdict: { kind: 'drop' } });
      await write(ops('add', 4, SERVICE_IPS, [drop('10.0.0.1'), drop('10.0.0.2')]));
      expect(await codeOf(write(ops('add', 4, SERVICE_IPS, [drop('10.0.0.3')])))).toBe('ENFILE');
      expect((await dump(4, SERVICE_IPS)).length).toBe(2);
    });

    it('a chain map elements go to cannot be deleted; once they are gone it can', async () => {
      await build();
      await write(ops('add', 4, SERVICE_IPS, [web()]));
      expect(await codeOf(m.run({ commands: `delete chain ip ${T} cluster-1\n` }))).toBe('ENFTABLES');
      expect(await chains()).toContain('ip svcproxy cluster-1 - - -');
      await write(ops('delete', 4, SERVICE_IPS, [web()]));
      await m.run({ commands: `delete chain ip ${T} cluster-1\n` });
      expect(await chains()).not.toContain('ip svcproxy cluster-1 - - -');
    });

    it('a chain a rule jumps to and a set a rule uses stay; a chain with only its own rules goes with them', async () => {
      await build();
      expect(await codeOf(m.run({ commands: `delete chain ip ${T} no-endpoints\nadd chain ip ${T} x\nadd rule ip ${T} x jump no-endpoints\ndelete chain ip ${T} no-endpoints\n` }))).toBe('ENFTABLES');
      expect(await codeOf(m.run({ commands: `delete map ip ${T} ${ENDPOINTS}\n` }))).toBe('ENFTABLES');
      await m.run({ commands: `add chain ip ${T} x\nadd rule ip ${T} x jump no-endpoints\n` });
      expect(await codeOf(m.run({ commands: `delete chain ip ${T} no-endpoints\n` }))).toBe('ENFTABLES');
      await m.run({ commands: `delete chain ip ${T} x\ndelete chain ip ${T} no-endpoints\n` });
      expect((await chains()).filter((c) => / (x|no-endpoints) /.test(c))).toEqual([]);
    });

    it('a command text is one transaction: a failing statement undoes the ones before it', async () => {
      await build();
      const before = await chains();
      expect(await codeOf(m.run({ commands: `add chain ip ${T} fresh\nflush chain ip ${T} absent\n` }))).toBe('ENFTABLES');
      expect(await codeOf(m.run({ commands: `add rule ip ${T} services jump absent\n` }))).toBe('ENFTABLES');
      expect(await codeOf(m.run({ commands: 'this is not nft\n' }))).toBe('ENFTABLES');
      expect(await codeOf(m.run({ commands: `add chain ip absent x\n` }))).toBe('ENFTABLES');
      expect(await chains()).toEqual(before);
    });

    it("an affinity port's chain delta applies, and its reverse restores the table", async () => {
      await build();
      const before = await chains();
      const sticky = portObjects(portState({ name: 'sticky', clusterIP: '10.96.0.12', affinitySeconds: 600 }, endpointList(2)), MASQ);
      const d = chainDelta(4, T, [], [sticky]);
      await m.run({ commands: d.pre });
      await write(ops('add', 4, SERVICE_IPS, sticky.elements.filter((e) => e.set === SERVICE_IPS)));
      expect(await chains()).toContain('ip svcproxy svc-ns/sticky/tcp/ - - -');
      await write(ops('delete', 4, SERVICE_IPS, sticky.elements.filter((e) => e.set === SERVICE_IPS)));
      const back = chainDelta(4, T, [sticky], []);
      await m.run({ commands: back.pre + back.post });
      expect(await chains()).toEqual(before);
    });

    it('dropTable removes a table whether or not it exists; a dump of a missing table is ENOENT', async () => {
      await build();
      await m.run({ commands: dropTable(4, T) + dropTable(6, T) });
      expect(await chains()).toEqual([]);
      expect(await codeOf(m.dumpSet({ family: 4, table: T, set: SERVICE_IPS }))).toBe('ENOENT');
    });
  });
}
