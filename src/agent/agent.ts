/**
 * startAgent(): svcproxy as a node agent, as kube-proxy runs. Wiring only:
 * informers (watch.ts) feed the change tracker (tracker.ts); the sync loop
 * (sync.ts) programs the kernel through ServiceProxy; health.ts, metrics.ts
 * and http.ts report it; log.ts writes one JSON line per sync. Stopping
 * leaves the rules in place: the next start's first full reconcile diffs
 * against them and changes only what differs (no flush).
 */
import { hostname } from 'node:os';
import { KubeConfig, type V1Node } from '@kubernetes/client-node';
import { open, type ServiceProxy } from '../api/proxy.js';
import { SvcproxyError } from '../errors.js';
import { durationMs, parseAgentConfig, type AgentConfig, type AgentConfigInput } from './config.js';
import { HealthState } from './health.js';
import { HealthCheckServers } from './healthcheck.js';
import { HealthCheckPorts } from './hcports.js';
import { healthRoutes, metricsRoutes, serve, type Bound } from './http.js';
import { createLogger, type AgentLogger } from './log.js';
import { AgentMetrics } from './metrics.js';
import { SyncLoop, type SyncReport } from './sync.js';
import { ChangeTracker } from './tracker.js';
import { startWatching, type Watchers } from './watch.js';

export const ZONE_LABEL = 'topology.kubernetes.io/zone';

export interface StartAgentOptions {
  /** the YAML file's settings (config.ts); kube-proxy's defaults for the rest */
  config?: AgentConfigInput;
  /** default: config.kubeconfig, else KUBECONFIG / ~/.kube/config, else the in-cluster service account */
  kubeconfig?: KubeConfig;
  /** default: pino JSON on stderr at config.logLevel */
  log?: AgentLogger;
}

export interface AgentStatus {
  ready: boolean;
  mode?: string;
  nodeName: string;
  nodeZone?: string;
  nodeEligible: boolean;
  healthy: boolean;
  services: number;
  slices: number;
  syncs: number;
  lastSync?: SyncReport;
}

export interface AgentHandle {
  /** the informers listed once, the proxy is open and the first full sync is in the kernel */
  ready: Promise<void>;
  /** stop watching and serving, close the proxy; the rules stay (as kube-proxy leaves them) */
  stop(): Promise<void>;
  status(): AgentStatus;
  /** where /healthz and /metrics listen (port 0 in the config: the port bound) */
  healthz: { address: string; port: number };
  metrics: { address: string; port: number };
}

export function loadKubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (file) kc.loadFromFile(file);
    else kc.loadFromDefault();
  } catch (e) {
    throw new SvcproxyError(`kubeconfig: cannot load ${file ?? 'the default configuration'}: ${(e as Error).message.split('\n')[0]}`, { code: 'EINVAL', field: 'kubeconfig', op: 'agent', file });
  }
  if (!kc.getCurrentCluster()) throw new SvcproxyError('kubeconfig: no cluster found (give --kubeconfig, set KUBECONFIG, or run in a pod)', { code: 'EINVAL', field: 'kubeconfig', op: 'agent' });
  return kc;
}

export async function startAgent(options: StartAgentOptions = {}): Promise<AgentHandle> {
  const cfg = parseAgentConfig(options.config ?? {});
  const log = options.log ?? createLogger(cfg.logLevel);
  const kubeconfig = options.kubeconfig ?? loadKubeConfig(cfg.kubeconfig);
  const agent = new Agent(cfg, log, kubeconfig);
  await agent.serve();
  return agent.handle();
}

class Agent {
  readonly nodeName: string;
  readonly health: HealthState;
  readonly metrics = new AgentMetrics();
  readonly tracker: ChangeTracker;
  /** healthCheckNodePort servers (externalTrafficPolicy Local), updated after every successful sync */
  private readonly hcPorts: HealthCheckPorts;
  private readonly hcServers: HealthCheckServers;
  private servers: Bound[] = [];
  private watchers?: Watchers;
  private proxy?: ServiceProxy;
  private loop?: SyncLoop;
  private node?: V1Node;
  private zone?: string;
  /** arrival times of changes not yet taken by a sync, and of those in the sync running */
  private arrivals: number[] = [];
  private inFlight: number[] = [];
  private syncs = 0;
  private lastSync?: SyncReport;
  private isReady = false;
  private stopped = false;

  constructor(
    private readonly cfg: AgentConfig,
    private readonly log: AgentLogger,
    private readonly kubeconfig: KubeConfig,
  ) {
    this.nodeName = cfg.hostnameOverride ?? hostname();
    // kube-proxy: healthTimeout is twice the sync period
    this.health = new HealthState(2 * durationMs(cfg.syncPeriod));
    this.hcPorts = new HealthCheckPorts(this.nodeName);
    // in the node's namespace, on every IPv4 address as kube-proxy without nodePortAddresses
    this.hcServers = new HealthCheckServers({ netns: cfg.netns, healthy: () => this.health.healthy, log: (msg) => log.warn(msg) });
    this.tracker = new ChangeTracker({
      serviceProxyName: cfg.serviceProxyName,
      onInvalid: (key, e) => log.warn({ object: key, field: e.field, err: e.message }, 'skipping invalid object'),
      onBuilt: (key, svc) => this.hcPorts.built(key, svc),
    });
  }

  async serve(): Promise<void> {
    this.health.queued(); // the first sync must come within healthTimeout
    try {
      this.servers.push(await listenOn('healthzBindAddress', this.cfg.healthzBindAddress, healthRoutes(this.health)));
      this.servers.push(await listenOn('metricsBindAddress', this.cfg.metricsBindAddress, metricsRoutes(this.metrics)));
    } catch (e) {
      await this.closeServers();
      throw e;
    }
    const [h, m] = this.servers;
    this.log.info({ healthz: `${h!.address}:${h!.port}`, metrics: `${m!.address}:${m!.port}`, node: this.nodeName }, 'serving');
    if (this.cfg.nodePortAddresses.length > 0) {
      this.log.warn({ nodePortAddresses: this.cfg.nodePortAddresses }, 'nodePortAddresses is not honoured yet: node ports answer on every local address');
    }
  }

  handle(): AgentHandle {
    const ready = this.run();
    ready.catch(() => {}); // the caller awaits it; an unobserved rejection must not kill the process first
    const [h, m] = this.servers;
    return {
      ready,
      stop: () => this.stop(),
      status: () => this.status(),
      healthz: { address: h!.address, port: h!.port },
      metrics: { address: m!.address, port: m!.port },
    };
  }

  private async run(): Promise<void> {
    const t0 = performance.now();
    this.watchers = startWatching({
      kubeconfig: this.kubeconfig,
      tracker: this.tracker,
      onChange: () => this.changed(),
      onError: (resource, e, retryMs) => this.log.warn({ resource, err: errText(e), retryMs }, 'watch failed, retrying'),
      node: { name: this.nodeName, onNode: (n) => this.nodeChanged(n) },
    });
    await this.watchers.synced;
    const counts = this.tracker.counts();
    this.log.info({ ...counts, ms: Math.round(performance.now() - t0) }, `listing: ${counts.services} services, ${counts.slices} slices`);
    const proxy = await this.openProxy();
    if (this.stopped) return proxy.close(); // stop() came while it opened
    this.proxy = proxy;
    this.metrics.setMode(this.proxy.mode);
    await this.firstSync();
  }

  private openProxy(): Promise<ServiceProxy> {
    const c = this.cfg;
    this.zone = this.node?.metadata?.labels?.[ZONE_LABEL];
    if (!this.node) this.log.warn({ node: this.nodeName }, 'this node is not in the API server: no zone for topology hints');
    return open({
      mode: c.proxyMode,
      netns: c.netns,
      cgroup: c.cgroup,
      bpffs: c.bpffs,
      nodeName: this.nodeName,
      nodeZone: this.zone,
      clusterCIDR: c.clusterCIDR,
      masqueradeAll: c.masqueradeAll,
    });
  }

  private firstSync(): Promise<void> {
    const t0 = performance.now();
    this.log.info({ mode: this.proxy!.mode, services: this.tracker.counts().services }, 'first sync: programming');
    return new Promise((resolve) => {
      this.loop = new SyncLoop({
        proxy: this.proxy!,
        tracker: this.tracker,
        minSyncPeriodMs: durationMs(this.cfg.minSyncPeriod),
        syncPeriodMs: durationMs(this.cfg.syncPeriod),
        onStart: () => this.syncStarting(),
        onSync: (r) => {
          this.synced(r);
          if (this.isReady) return;
          this.isReady = true;
          this.log.info({ ports: r.owned, added: r.added, changed: r.changed, removed: r.removed, ms: Math.round(performance.now() - t0) }, `first sync: ${r.owned} ports programmed in ${Math.round(performance.now() - t0)} ms`);
          resolve();
        },
        onError: (e) => {
          this.metrics.failed();
          this.log.error({ err: errText(e), code: (e as SvcproxyError).code }, 'sync failed, will retry');
        },
      });
      this.loop.start();
    });
  }

  private changed(): void {
    this.health.queued();
    this.metrics.changes(this.tracker);
    if (!this.loop) return; // before the first sync: the full reconcile takes it
    this.arrivals.push(Date.now());
    this.loop.changed();
  }

  private syncStarting(): void {
    this.health.queued();
    this.inFlight = this.arrivals;
    this.arrivals = [];
  }

  private synced(r: SyncReport): void {
    this.health.updated();
    this.metrics.synced(r, this.inFlight);
    this.inFlight = [];
    this.syncs++;
    this.lastSync = r;
    if (!this.stopped) this.hcServers.sync(this.hcPorts.ports()).catch((e: unknown) => this.log.error({ err: errText(e) }, 'healthCheckNodePort servers: sync failed'));
    const fields = { full: r.full, added: r.added, changed: r.changed, removed: r.removed, owned: r.owned, kernelMs: round(r.kernelMs), ms: round(r.totalMs) };
    if (r.repaired && r.added + r.changed + r.removed > 0) this.log.warn({ ...fields, repaired: r.repairs }, 'full reconcile repaired drift');
    else this.log.info(fields, r.full ? 'full sync' : 'partial sync');
  }

  private nodeChanged(node: V1Node | undefined): void {
    this.health.syncNode(node);
    if (!node) return;
    const was = this.node;
    this.node = node;
    if (was && !this.health.nodeEligible) this.log.warn({ node: this.nodeName }, 'this node is being deleted: /healthz reports 503');
    const zone = node.metadata?.labels?.[ZONE_LABEL];
    if (this.proxy && zone !== this.zone) this.log.warn({ was: this.zone, now: zone }, 'node zone changed: topology hints use the zone read at start until the agent restarts');
  }

  status(): AgentStatus {
    return {
      ready: this.isReady,
      mode: this.proxy?.mode,
      nodeName: this.nodeName,
      nodeZone: this.zone,
      nodeEligible: this.health.nodeEligible,
      healthy: this.health.healthy,
      ...this.tracker.counts(),
      syncs: this.syncs,
      lastSync: this.lastSync,
    };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.watchers?.stop();
    await this.loop?.stop();
    await this.closeServers();
    await this.hcServers.close();
    await this.proxy?.close();
    this.log.info({ syncs: this.syncs }, 'stopped; rules left in place');
  }

  private async closeServers(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.close()));
    this.servers = [];
  }
}

/** serve(), with a failure to listen as one line naming the setting */
async function listenOn(field: string, hostPort: string, routes: Parameters<typeof serve>[1]): Promise<Bound> {
  try {
    return await serve(hostPort, routes);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new SvcproxyError(`${field}: cannot listen on ${hostPort}: ${code}`, { code, field, op: 'agent' });
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;
const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));
