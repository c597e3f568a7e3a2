/**
 * The agent's Prometheus metrics (prom-client, a registry of its own so a
 * library user's default registry is untouched). kube-proxy's names where
 * the meaning is the same; svcproxy_* for what is svcproxy's own.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SyncReport } from './sync.js';

/** kube-proxy's buckets for sync and programming latency: 1 ms doubling to ~16 s */
const SYNC_BUCKETS = Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i);

export class AgentMetrics {
  readonly registry = new Registry();
  readonly syncDuration = new Histogram({ name: 'kubeproxy_sync_proxy_rules_duration_seconds', help: 'SyncProxyRules latency in seconds', buckets: SYNC_BUCKETS, registers: [this.registry] });
  readonly lastSync = new Gauge({ name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds', help: 'The last time proxy rules were successfully synced', registers: [this.registry] });
  readonly programming = new Histogram({
    name: 'kubeproxy_network_programming_duration_seconds',
    help: 'Time from a Service or EndpointSlice event arriving at the agent to its rules being in the kernel',
    buckets: SYNC_BUCKETS,
    registers: [this.registry],
  });
  readonly endpointChanges = new Counter({ name: 'kubeproxy_sync_proxy_rules_endpoint_changes_total', help: 'Cumulative EndpointSlice changes seen', registers: [this.registry] });
  readonly serviceChanges = new Counter({ name: 'kubeproxy_sync_proxy_rules_service_changes_total', help: 'Cumulative Service changes seen', registers: [this.registry] });
  readonly mode = new Gauge({ name: 'svcproxy_mode', help: 'The dataplane in use (1 for the mode label)', labelNames: ['mode'], registers: [this.registry] });
  readonly owned = new Gauge({ name: 'svcproxy_owned_objects', help: 'Service ports programmed in the kernel', registers: [this.registry] });
  readonly kernel = new Histogram({ name: 'svcproxy_sync_kernel_seconds', help: 'Time spent in the kernel call(s) per sync', buckets: SYNC_BUCKETS, registers: [this.registry] });
  readonly repaired = new Counter({ name: 'svcproxy_sync_repaired_total', help: 'Service ports a periodic full reconcile found drifted and re-programmed', registers: [this.registry] });
  readonly syncs = new Counter({ name: 'svcproxy_syncs_total', help: 'Syncs by kind and result', labelNames: ['kind', 'result'], registers: [this.registry] });
  private counted = { service: 0, endpoint: 0 };

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  setMode(mode: string): void {
    this.mode.reset();
    this.mode.set({ mode }, 1);
  }

  /** The tracker's running totals; the counters follow them. */
  changes(totals: { serviceChanges: number; endpointChanges: number }): void {
    this.serviceChanges.inc(totals.serviceChanges - this.counted.service);
    this.endpointChanges.inc(totals.endpointChanges - this.counted.endpoint);
    this.counted = { service: totals.serviceChanges, endpoint: totals.endpointChanges };
  }

  synced(r: SyncReport, arrivals: readonly number[], now = Date.now()): void {
    this.syncDuration.observe(r.totalMs / 1000);
    this.kernel.observe(r.kernelMs / 1000);
    this.lastSync.set(now / 1000);
    this.owned.set(r.owned);
    if (r.repaired) this.repaired.inc(r.added + r.changed + r.removed);
    this.syncs.inc({ kind: r.full ? 'full' : 'partial', result: 'ok' });
    for (const t of arrivals) this.programming.observe(Math.max(0, now - t) / 1000);
  }

  failed(): void {
    this.syncs.inc({ kind: 'any', result: 'error' });
  }
}
