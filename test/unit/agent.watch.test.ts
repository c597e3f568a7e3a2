import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceProxy } from '../../src/api/proxy.js';
import { FakeDataplane } from '../../src/dataplanes/fake/index.js';
import { SyncLoop, type SyncReport } from '../../src/agent/sync.js';
import { ChangeTracker } from '../../src/agent/tracker.js';
import { startWatching, type Watchers } from '../../src/agent/watch.js';
import { ApiServerStandIn, SERVICES, SLICES } from '../support/apiserver.js';

const svc = (name: string, ip: string) => ({
  metadata: { name, namespace: 'default' },
  spec: { type: 'ClusterIP', clusterIP: ip, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
});
const slice = (name: string, service: string, addresses: string[]) => ({
  metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
  addressType: 'IPv4',
  endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
});
const endpointsOf = async (dp: FakeDataplane, name: string) =>
  (await dp.read()).find((p) => p.name === name)!.internal.map((e) => e.address).sort();
const until = async (f: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('agent watch against the API-server stand-in (fake dataplane)', () => {
  let api: ApiServerStandIn;
  let watchers: Watchers | undefined;
  let loop: SyncLoop | undefined;
  afterEach(async () => {
    await watchers?.stop();
    await loop?.stop();
    await api?.close();
  });

  it('lists, watches with bookmarks, and re-lists on 410 applying only the difference', async () => {
    api = new ApiServerStandIn();
    const url = await api.listen();
    api.upsert(SERVICES, svc('a', '10.96.0.1'));
    api.upsert(SLICES, slice('a-1', 'a', ['10.0.0.1']));
    api.upsert(SERVICES, svc('b', '10.96.0.2'));
    const kc = new KubeConfig();
    kc.loadFromOptions({ clusters: [{ name: 's', server: url, skipTLSVerify: true }], users: [{ name: 'u' }], contexts: [{ name: 'c', cluster: 's', user: 'u' }], currentContext: 'c' });
    const dp = new FakeDataplane();
    const tracker = new ChangeTracker();
    const reports: SyncReport[] = [];
    loop = new SyncLoop({ proxy: new ServiceProxy(dp, { nodeName: 'n' }), tracker, minSyncPeriodMs: 0, syncPeriodMs: 60_000, onSync: (r) => reports.push(r) });
    const errors: unknown[] = [];
    watchers = startWatching({ kubeconfig: kc, tracker, onChange: () => loop!.changed(), onError: (_r, e) => errors.push(e), maxBackoffMs: 50 });
    await Promise.race([watchers.synced, new Promise((r) => setTimeout(r, 3000))]);
    expect(errors).toEqual([]);
    loop.start();
    await until(() => reports.length >= 1);
    expect(reports[0]).toMatchObject({ full: true, added: 2 });
    expect(api.log.filter((l) => l.startsWith('watch')).every((l) => l.endsWith('bookmarks=true'))).toBe(true);

    // the first full sync had a's endpoint: the runner does not sync before start() (it once did, on the
    // informers' first list events, and programmed a without endpoints; a late 'changed' then followed)
    expect(await endpointsOf(dp, 'a')).toEqual(['10.0.0.1']);

    api.upsert(SLICES, slice('a-1', 'a', ['10.0.0.1', '10.0.0.2']));
    await until(() => reports.length >= 2);
    expect(reports[1]).toMatchObject({ full: false, added: 0, changed: 1, removed: 0 });
    expect(await endpointsOf(dp, 'a')).toEqual(['10.0.0.1', '10.0.0.2']);

    // history compacted, watch dropped, a change made meanwhile: the informer gets 410, re-lists, and only "b" changes
    api.compact();
    api.remove(SERVICES, 'default', 'b');
    api.compact();
    api.dropWatches();
    await until(() => reports.length >= 3);
    await new Promise((r) => setTimeout(r, 100));
    // the re-list went through update(), never a full re-apply or flush: exactly b removed, a untouched
    // (the informer compares resourceVersions with its cache, so unchanged objects raise no event)
    expect(reports.slice(2).every((r) => !r.full)).toBe(true);
    const sum = (k: 'added' | 'changed' | 'removed') => reports.slice(2).reduce((n, r) => n + r[k], 0);
    expect({ added: sum('added'), changed: sum('changed'), removed: sum('removed') }).toEqual({ added: 0, changed: 0, removed: 1 });
    expect(api.log.filter((l) => l === `list ${SERVICES}`).length).toBeGreaterThanOrEqual(2);
    expect((await dp.read()).map((p) => p.name)).toEqual(['a']);
  });
});
