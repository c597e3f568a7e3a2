/** The publishing order of bpf mode's map batches, and the index it leaves. */
import { describe, expect, it } from 'vitest';
import { groupOf, type Programmed } from '../../src/dataplanes/bpf/entries.js';
import { pinPaths } from '../../src/dataplanes/bpf/paths.js';
import { commitSync, MetaIds, planSync } from '../../src/dataplanes/bpf/sync.js';
import { decodeState } from '../../src/dataplanes/bpf/read.js';
import type { ServicePortState } from '../../src/plan/types.js';
import type { BpfMapDump, BpfMapOp } from '../../src/native/bpf.js';
import { diff } from '../../src/plan/index.js';
import * as L from '../../src/dataplanes/bpf/layout.js';

const paths = pinPaths('/sys/fs/cgroup/unified/test');

function state(over: Partial<ServicePortState> = {}): ServicePortState {
  return {
    key: 'default/web:http/TCP@4',
    namespace: 'default',
    name: 'web',
    portName: 'http',
    protocol: 'TCP',
    family: 4,
    clusterIP: '10.96.0.10',
    port: 80,
    nodePort: 30080,
    externalIPs: ['192.0.2.1'],
    loadBalancerIPs: [],
    affinitySeconds: null,
    externalLocal: false,
    internal: [{ address: '10.244.0.10', port: 8080 }, { address: '10.244.0.11', port: 8080 }],
    external: [{ address: '10.244.0.10', port: 8080 }, { address: '10.244.0.11', port: 8080 }],
    hasEndpoints: true,
    ...over,
  };
}

const order = (ops: BpfMapOp[]) => ops.map((o) => `${o.op} ${o.path.split('/').pop()}`);

describe('bpf sync order', () => {
  it('writes backends and meta before publishing frontends, and retires afterwards', () => {
    const ids = new MetaIds(100);
    const index = new Map<string, Programmed>();
    const first = planSync({ added: [state()], removed: [], changed: [], unchanged: 0 }, index, ids, paths);
    commitSync(index, first);
    expect(order(first.ops)).toEqual(['update svp_backends', 'update svp_counters', 'update svp_meta', 'update svp_services']);
    // the new meta id's counters are zeroed (a removed port may have used it)
    expect(first.ops[1]!.keys.readUInt32LE(0)).toBe(first.takenIds[0]);
    expect(first.ops[1]!.values!.equals(Buffer.alloc(24))).toBe(true);
    const p = index.get('default/web:http/TCP@4')!;
    expect(p.gen).toBe(0);
    expect(p.frontends.map((f) => f.addr).sort()).toEqual(['', '10.96.0.10', '192.0.2.1']);

    const after = state({ internal: [{ address: '10.244.0.12', port: 8080 }], external: [{ address: '10.244.0.12', port: 8080 }], externalIPs: [] });
    const second = planSync({ added: [], removed: [], changed: [{ before: p.state, after, what: new Set(['endpoints'] as const) }], unchanged: 0 }, index, ids, paths);
    commitSync(index, second);
    expect(order(second.ops)).toEqual(['update svp_backends', 'update svp_meta', 'update svp_services', 'delete svp_services', 'delete svp_backends']);
    const q = index.get(after.key)!;
    expect(q.gen).toBe(1);
    expect(q.metaId).toBe(p.metaId);
    // the new generation's group is written, the old one deleted
    const newGroup = second.ops[0]!.keys.readUInt32LE(0);
    const oldGroup = second.ops[4]!.keys.readUInt32LE(0);
    expect([newGroup, oldGroup]).toEqual([groupOf(p.metaId, 1, false), groupOf(p.metaId, 0, false)]);
    // the external IP frontend that went away is deleted, the rest republished
    expect(second.ops[3]!.keys.length).toBe(20);

    const third = planSync({ added: [], removed: [after], changed: [], unchanged: 0 }, index, ids, paths);
    commitSync(index, third);
    expect(order(third.ops)).toEqual(['delete svp_services', 'delete svp_backends', 'delete svp_meta']);
    expect(index.size).toBe(0);
    expect(third.releasedIds).toEqual([p.metaId]);
  });

  it('marks a frontend without endpoints for its traffic as drop, one without any endpoint as reject', () => {
    const ids = new MetaIds(10);
    // internalTrafficPolicy Local without local endpoints: cluster IP drops, node port still forwards
    const local = state({ internal: [], externalIPs: [] });
    const none = state({ key: 'default/none:http/TCP@4', name: 'none', clusterIP: '10.96.0.11', nodePort: null, externalIPs: [], internal: [], external: [], hasEndpoints: false });
    const res = planSync({ added: [local, none], removed: [], changed: [], unchanged: 0 }, new Map(), ids, paths);
    const svc = res.ops.find((o) => o.path === paths.services)!;
    const entries = Array.from({ length: svc.keys.length / 20 }, (_, i) => ({
      addr: [...svc.keys.subarray(i * 20, i * 20 + 4)].join('.'),
      count: svc.values!.readUInt32LE(i * 20 + 4),
      flags: svc.values!.readUInt32LE(i * 20 + 16),
    }));
    expect(entries).toEqual([
      { addr: '10.96.0.10', count: 0, flags: L.SVP_F_CLUSTER_IP | L.SVP_F_DROP },
      { addr: '0.0.0.0', count: 2, flags: L.SVP_F_NODE_PORT },
      { addr: '10.96.0.11', count: 0, flags: L.SVP_F_CLUSTER_IP },
    ]);
    // the drop bit is derived, not state: read-back still yields the same states
    const dump = (path: string, keySize: number, valueSize: number): BpfMapDump => {
      const op = res.ops.find((o) => o.path === path && o.op === 'update')!;
      return { keySize, valueSize, count: op.keys.length / keySize, keys: op.keys, values: op.values! };
    };
    const index = decodeState({ meta: dump(paths.meta, 4, 220), services: dump(paths.services, 20, 20), backends: dump(paths.backends, 8, L.BACKEND_PAGE.size) });
    expect(diff([local, none], [...index.values()].map((e) => e.state)).unchanged).toBe(2);
  });

  it('packs backends eight to a map element, and reads a big group back in order', () => {
    const many = Array.from({ length: 19 }, (_, i) => ({ address: `10.244.1.${i + 1}`, port: 8080 }));
    const big = state({ nodePort: null, externalIPs: [], internal: many, external: many });
    const res = planSync({ added: [big], removed: [], changed: [], unchanged: 0 }, new Map(), new MetaIds(10), paths);
    const be = res.ops.find((o) => o.path === paths.backends)!;
    expect(be.keys.length / 8).toBe(3); // pages 0, 1, 2 of one group
    expect([0, 1, 2].map((i) => be.keys.readUInt32LE(i * 8 + 4))).toEqual([0, 1, 2]);
    // slot 18 = page 2, position 2; slots past the count are zero
    expect([...be.values!.subarray(2 * 160 + 2 * 20, 2 * 160 + 2 * 20 + 4)]).toEqual([10, 244, 1, 19]);
    expect(be.values!.subarray(2 * 160 + 3 * 20, 3 * 160).every((b) => b === 0)).toBe(true);
    const dump = (path: string, keySize: number, valueSize: number): BpfMapDump => {
      const op = res.ops.find((o) => o.path === path && o.op === 'update')!;
      return { keySize, valueSize, count: op.keys.length / keySize, keys: op.keys, values: op.values! };
    };
    const index = decodeState({ meta: dump(paths.meta, 4, 220), services: dump(paths.services, 20, 20), backends: dump(paths.backends, 8, L.BACKEND_PAGE.size) });
    expect(index.get(big.key)!.state.internal).toEqual(many);
    // removing it deletes exactly its three pages
    const gone = planSync({ added: [], removed: [big], changed: [], unchanged: 0 }, index, new MetaIds(10), paths);
    expect(gone.ops.find((o) => o.path === paths.backends && o.op === 'delete')!.keys.length / 8).toBe(3);
  });

  it('refuses a key it cannot store, before building any op', () => {
    const bad = state({ key: 'default/we b:http/TCP@4' });
    expect(() => planSync({ added: [bad], removed: [], changed: [], unchanged: 0 }, new Map(), new MetaIds(10), paths)).toThrow(/cannot be stored/);
  });

  it('decodes what it encodes (read after apply is an empty diff)', () => {
    const s = [state(), state({ key: 'default/web:dns/UDP@4', portName: 'dns', protocol: 'UDP', port: 53, nodePort: null, affinitySeconds: 60, external: [], externalLocal: true }), state({ key: 'ns/v6:/TCP@6', namespace: 'ns', name: 'v6', portName: '', family: 6, clusterIP: 'fd00::10', externalIPs: [], nodePort: null, internal: [{ address: 'fd00::1:2', port: 80 }], external: [{ address: 'fd00::1:2', port: 80 }] })];
    const res = planSync({ added: s, removed: [], changed: [], unchanged: 0 }, new Map<string, Programmed>(), new MetaIds(100), paths);
    const dump = (path: string, keySize: number, valueSize: number): BpfMapDump => {
      const ops = res.ops.filter((o) => o.path === path && o.op === 'update');
      const keys = Buffer.concat(ops.map((o) => o.keys));
      const values = Buffer.concat(ops.map((o) => o.values!));
      return { keySize, valueSize, count: keys.length / keySize, keys, values };
    };
    const index = decodeState({ meta: dump(paths.meta, 4, 220), services: dump(paths.services, 20, 20), backends: dump(paths.backends, 8, L.BACKEND_PAGE.size) });
    const read = [...index.values()].map((e) => e.state);
    expect(diff(s, read)).toEqual({ added: [], removed: [], changed: [], unchanged: 3 });
  });
});
