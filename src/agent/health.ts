/**
 * The proxy's health as kube-proxy reports it (pkg/proxy/healthcheck,
 * ProxyHealthServer): unhealthy when a change (or a sync) has waited longer
 * than healthTimeout without a successful sync; /healthz is also unhealthy
 * while this node is being deleted (deletionTimestamp, or the cluster
 * autoscaler's ToBeDeletedByClusterAutoscaler taint); /livez ignores the node.
 */
import type { V1Node } from '@kubernetes/client-node';

export const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

export interface HealthReply {
  status: 200 | 503;
  body: { lastUpdated: string; currentTime: string; nodeEligible?: boolean };
}

export class HealthState {
  private lastUpdated?: number;
  /** the oldest change not yet in the kernel */
  private oldestPending?: number;
  private eligible = true; // while starting up, as kube-proxy

  constructor(
    private readonly healthTimeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** a change arrived, or a sync began: it must finish within healthTimeout */
  queued(): void {
    this.oldestPending ??= this.now();
  }

  /** a sync succeeded: everything queued before it is in the kernel */
  updated(): void {
    this.oldestPending = undefined;
    this.lastUpdated = this.now();
  }

  syncNode(node: V1Node | undefined): void {
    if (!node) return; // a Node that vanished keeps its last verdict, as kube-proxy's informer does
    const deleting = node.metadata?.deletionTimestamp !== undefined && node.metadata.deletionTimestamp !== null;
    this.eligible = !deleting && !(node.spec?.taints ?? []).some((t) => t.key === TO_BE_DELETED_TAINT);
  }

  get nodeEligible(): boolean {
    return this.eligible;
  }

  get healthy(): boolean {
    return this.oldestPending === undefined || this.now() - this.oldestPending < this.healthTimeoutMs;
  }

  healthz(): HealthReply {
    return this.reply(this.healthy && this.eligible, this.eligible);
  }

  livez(): HealthReply {
    return this.reply(this.healthy);
  }

  private reply(ok: boolean, nodeEligible?: boolean): HealthReply {
    const now = this.now();
    // kube-proxy reports "now" as lastUpdated while healthy (compatibility with older releases)
    const last = ok ? now : (this.lastUpdated ?? 0);
    const body = { lastUpdated: new Date(last).toISOString(), currentTime: new Date(now).toISOString(), ...(nodeEligible === undefined ? {} : { nodeEligible }) };
    return { status: ok ? 200 : 503, body };
  }
}
