import { describe, expect, it } from 'vitest';
import { HealthState } from '../../src/agent/health.js';
import { splitHostPort } from '../../src/agent/http.js';
import { AgentMetrics } from '../../src/agent/metrics.js';

describe('agent health (kube-proxy ProxyHealthServer semantics)', () => {
  it('is healthy while starting, until a queued change waits longer than healthTimeout without a sync', () => {
    let now = 1_000_000;
    const h = new HealthState(60_000, () => now);
    expect(h.healthz().status).toBe(200);
    h.queued();
    now += 59_999;
    expect(h.healthz().status).toBe(200);
    h.queued(); // a later change does not move the oldest pending one
    now += 1;
    expect(h.healthz()).toMatchObject({ status: 503, body: { nodeEligible: true, lastUpdated: new Date(0).toISOString() } });
    expect(h.livez().status).toBe(503);
    h.updated();
    const ok = h.healthz();
    expect(ok).toEqual({ status: 200, body: { lastUpdated: new Date(now).toISOString(), currentTime: new Date(now).toISOString(), nodeEligible: true } });
    now += 10 * 60_000; // nothing queued: healthy however long ago the last sync was
    expect(h.healthz().status).toBe(200);
  });

  it('/healthz is 503 while the Node is being deleted or tainted for deletion; /livez ignores the Node', () => {
    const h = new HealthState(60_000);
    h.syncNode({ metadata: { name: 'n', deletionTimestamp: new Date() } });
    expect(h.healthz()).toMatchObject({ status: 503, body: { nodeEligible: false } });
    expect(h.livez().status).toBe(200);
    expect('nodeEligible' in h.livez().body).toBe(false);
    h.syncNode({ metadata: { name: 'n' }, spec: { taints: [{ key: 'ToBeDeletedByClusterAutoscaler', effect: 'NoSchedule' }] } });
    expect(h.healthz().status).toBe(503);
    h.syncNode({ metadata: { name: 'n' }, spec: {} });
    expect(h.healthz().status).toBe(200);
  });

  it('splits bind addresses, IPv6 in brackets', () => {
    expect(splitHostPort('0.0.0.0:10256')).toEqual({ host: '0.0.0.0', port: 10256 });
    expect(splitHostPort('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(splitHostPort(':10249')).toEqual({ host: '0.0.0.0', port: 10249 });
  });

  it('metrics follow the tracker totals and count repairs only for a periodic reconcile', async () => {
    const m = new AgentMetrics();
    m.changes({ serviceChanges: 3, endpointChanges: 2 });
    m.changes({ serviceChanges: 5, endpointChanges: 2 });
    const base = { full: true, added: 1, changed: 1, removed: 0, owned: 7, repairs: [], kernelMs: 2, totalMs: 5 };
    m.synced({ ...base, repaired: false }, []);
    m.synced({ ...base, repaired: true }, [Date.now() - 10]);
    const text = await m.registry.metrics();
    expect(text).toMatch(/^kubeproxy_sync_proxy_rules_service_changes_total 5$/m);
    expect(text).toMatch(/^kubeproxy_sync_proxy_rules_endpoint_changes_total 2$/m);
    expect(text).toMatch(/^svcproxy_sync_repaired_total 2$/m);
    expect(text).toMatch(/^svcproxy_owned_objects 7$/m);
    expect(text).toMatch(/^kubeproxy_sync_proxy_rules_duration_seconds_count 2$/m);
    expect(text).toMatch(/^kubeproxy_network_programming_duration_seconds_count 1$/m);
  });
});
