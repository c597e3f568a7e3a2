import { describe, expect, it } from 'vitest';
import { ServiceProxy } from '../../src/api/proxy.js';
import { FakeDataplane } from '../../src/dataplanes/fake/index.js';
import { BoundedFrequencyRunner } from '../../src/agent/runner.js';
import { SyncLoop, type SyncReport } from '../../src/agent/sync.js';
import { ChangeTracker } from '../../src/agent/tracker.js';

const svc = (name: string, ip: string, labels?: Record<string, string>) => ({
  metadata: { name, namespace: 'default', resourceVersion: '1', labels },
  spec: { type: 'ClusterIP', clusterIP: ip, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
});
const slice = (name: string, service: string, addresses: string[], labels: Record<string, string> = {}) => ({
  metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': service, ...labels } },
  addressType: 'IPv4',
  endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
});
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ChangeTracker', () => {
  it('joins a Service with its slices and reports only dirty Services', () => {
    const t = new ChangeTracker();
    t.setService(svc('a', '10.96.0.1'));
    t.setSlice(slice('a-1', 'a', ['10.0.0.1', '10.0.0.2']));
    t.setService(svc('b', '10.96.0.2'));
    const first = t.take();
    expect(first.set!.map((s) => s.name).sort()).toEqual(['a', 'b']);
    expect(first.set!.find((s) => s.name === 'a')!.endpoints.map((e) => e.address)).toEqual(['10.0.0.1', '10.0.0.2']);
    t.setSlice(slice('a-1', 'a', ['10.0.0.1']));
    const second = t.take();
    expect(second.set!.map((s) => s.name)).toEqual(['a']);
    expect(second.set![0]!.endpoints.map((e) => e.address)).toEqual(['10.0.0.1']);
    t.deleteService(svc('b', '10.96.0.2'));
    expect(t.take()).toEqual({ set: [], remove: [{ namespace: 'default', name: 'b' }] });
  });

  it('skips Services another proxy owns and headless slices, as kube-proxy does', () => {
    const t = new ChangeTracker();
    t.setService(svc('mine', '10.96.0.1'));
    t.setService(svc('theirs', '10.96.0.2', { 'service.kubernetes.io/service-proxy-name': 'other' }));
    t.setSlice(slice('mine-1', 'mine', ['10.0.0.1'], { 'service.kubernetes.io/headless': '' }));
    const c = t.take();
    expect(c.set!.map((s) => s.name)).toEqual(['mine']);
    expect(c.set![0]!.endpoints).toEqual([]);
    expect(c.remove).toEqual([{ namespace: 'default', name: 'theirs' }]);
    const named = new ChangeTracker({ serviceProxyName: 'other' });
    named.setService(svc('theirs', '10.96.0.2', { 'service.kubernetes.io/service-proxy-name': 'other' }));
    expect(named.take().set!.map((s) => s.name)).toEqual(['theirs']);
  });

  it('runs the same validation as a file load and names the field', () => {
    const errors: string[] = [];
    const t = new ChangeTracker({ onInvalid: (key, e) => errors.push(`${key}: ${e.field}`) });
    t.setService({ ...svc('bad', '10.96.0.9'), spec: { clusterIP: 'not-an-ip', ports: [{ port: 80 }] } });
    t.setService({ ...svc('dup', '10.96.0.8'), spec: { clusterIP: '10.96.0.8', ports: [{ port: 80 }, { port: 80, name: 'x' }] } });
    const c = t.take();
    expect(c.set).toEqual([]);
    expect(errors).toEqual(['default/bad: spec.clusterIP', 'default/dup: spec.ports[0].name']);
  });
});

describe('BoundedFrequencyRunner', () => {
  it('coalesces a burst into one sync and keeps syncs minInterval apart', async () => {
    const starts: number[] = [];
    const r = new BoundedFrequencyRunner({ minIntervalMs: 50, maxIntervalMs: 60_000, sync: async () => void starts.push(Date.now()) });
    r.start();
    for (let i = 0; i < 20; i++) r.run();
    await tick(20);
    expect(starts.length).toBe(1);
    for (let i = 0; i < 20; i++) r.run();
    await tick(10);
    expect(starts.length).toBe(1); // within minInterval: waits
    await tick(80);
    expect(starts.length).toBe(2);
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(45);
    await r.stop();
  });

  it('does not sync before start(): the first lists arrive one resource at a time', async () => {
    let n = 0;
    const r = new BoundedFrequencyRunner({ minIntervalMs: 0, maxIntervalMs: 60_000, sync: async () => void n++ });
    r.run();
    await tick(20);
    expect(n).toBe(0);
    r.start();
    r.run();
    await tick(20);
    expect(n).toBe(1);
    await r.stop();
  });

  it('runs periodically without requests', async () => {
    let n = 0;
    const r = new BoundedFrequencyRunner({ minIntervalMs: 0, maxIntervalMs: 30, sync: async () => void n++ });
    r.start();
    await tick(100);
    await r.stop();
    expect(n).toBeGreaterThanOrEqual(2);
  });
});

describe('SyncLoop', () => {
  it('adopts what the kernel holds, applies only differences, and repairs drift on the periodic sync', async () => {
    const dp = new FakeDataplane();
    const tracker = new ChangeTracker();
    tracker.setService(svc('a', '10.96.0.1'));
    tracker.setSlice(slice('a-1', 'a', ['10.0.0.1']));
    // an earlier agent programmed "a" already: the new one must find nothing to add
    await new ServiceProxy(dp, { nodeName: 'n' }).apply({ services: tracker.all(), ignored: [] });
    const reports: SyncReport[] = [];
    const loop = new SyncLoop({ proxy: new ServiceProxy(dp, { nodeName: 'n' }), tracker, minSyncPeriodMs: 0, syncPeriodMs: 60_000, onSync: (r) => reports.push(r) });
    loop.start();
    await tick(30);
    expect(reports[0]).toMatchObject({ full: true, added: 0, changed: 0, removed: 0 });
    tracker.setService(svc('b', '10.96.0.2'));
    loop.changed();
    await tick(30);
    expect(reports[1]).toMatchObject({ full: false, added: 1, changed: 0, removed: 0 });
    await loop.stop();
    expect((await dp.read()).map((p) => p.name).sort()).toEqual(['a', 'b']);

    // drift: someone removed "b" from the kernel; the periodic reconcile puts back just that
    const other = new ServiceProxy(dp, { nodeName: 'n' });
    await other.update({ remove: [{ namespace: 'default', name: 'b' }] });
    const drift: SyncReport[] = [];
    const periodic = new SyncLoop({ proxy: new ServiceProxy(dp, { nodeName: 'n' }), tracker, minSyncPeriodMs: 0, syncPeriodMs: 20, onSync: (r) => drift.push(r) });
    periodic.start();
    await tick(60);
    await periodic.stop();
    expect(drift[0]).toMatchObject({ full: true, added: 1, changed: 0, removed: 0 });
    expect(drift.slice(1).every((r) => r.added + r.changed + r.removed === 0)).toBe(true);
  });
});
