/**
 * healthCheckNodePort servers (kube-proxy's pkg/proxy/healthcheck/service_health.go):
 * one HTTP server per Service with externalTrafficPolicy Local, on its
 * healthCheckNodePort, telling a cloud load balancer whether this node has
 * local endpoints: 200 with N > 0, 503 with 0, and kube-proxy's JSON body.
 * With netns set the listening socket is created inside that namespace (the
 * node's), since that is where the load balancer's probe arrives.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeSync } from 'node:fs';
import { listenTcp } from '../native/listen.js';

export interface HealthCheckInfo {
  namespace: string;
  name: string;
  localEndpoints: number;
}

export interface HealthCheckOptions {
  /** network namespace the sockets live in (default: the process's own) */
  netns?: string;
  /** address to bind (default: every address) */
  address?: string;
  log?: (msg: string) => void;
  /** the proxy's own health (health.ts): unhealthy answers 503 whatever the count, as kube-proxy (default: healthy) */
  healthy?: () => boolean;
}

interface Entry {
  info: HealthCheckInfo;
  server: Server;
}

export class HealthCheckServers {
  private readonly servers = new Map<number, Entry>();
  /** ports whose last open failed, so a retry that fails again is not logged again */
  private readonly failed = new Set<number>();
  /** sync() and close() run one at a time */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly opts: HealthCheckOptions = {}) {}

  /** Open a server per new port, close removed ones, update counts in place (no re-listen). */
  sync(ports: ReadonlyMap<number, HealthCheckInfo>): Promise<void> {
    return this.serially(async () => {
      const gone = [...this.servers.keys()].filter((p) => !ports.has(p));
      await Promise.all(gone.map((p) => this.closeOne(p)));
      for (const p of this.failed) if (!ports.has(p)) this.failed.delete(p);
      const opening: Promise<void>[] = [];
      for (const [port, info] of ports) {
        const entry = this.servers.get(port);
        if (entry) entry.info = { ...info };
        else opening.push(this.open(port, { ...info }));
      }
      await Promise.all(opening);
    });
  }

  /** Close every server. */
  close(): Promise<void> {
    return this.serially(async () => {
      await Promise.all([...this.servers.keys()].map((p) => this.closeOne(p)));
      this.failed.clear();
    });
  }

  private serially(fn: () => Promise<void>): Promise<void> {
    const next = this.queue.then(fn);
    this.queue = next.catch(() => {});
    return next;
  }

  /** A failure is logged (once per port) and the others go on, as kube-proxy does; the next sync retries. */
  private async open(port: number, info: HealthCheckInfo): Promise<void> {
    const entry: Entry = { info, server: createServer((req, res) => answer(entry.info, this.opts.healthy?.() ?? true, req, res)) };
    try {
      await this.listen(entry.server, port);
      entry.server.on('error', (e) => this.opts.log?.(`healthcheck: port ${port} (${entry.info.namespace}/${entry.info.name}): ${e.message}`));
      this.servers.set(port, entry);
      this.failed.delete(port);
    } catch (e) {
      if (this.failed.has(port)) return;
      this.failed.add(port);
      const why = e instanceof Error ? ((e as NodeJS.ErrnoException).code ?? e.message) : String(e);
      this.opts.log?.(`healthcheck: cannot open port ${port} for service ${info.namespace}/${info.name}: ${why}`);
    }
  }

  private async listen(server: Server, port: number): Promise<void> {
    const { netns, address } = this.opts;
    if (!netns) return listening(server, () => server.listen({ port, host: address }));
    const fd = await listenTcp({ netns, address, port });
    try {
      await listening(server, () => server.listen({ fd }));
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  private async closeOne(port: number): Promise<void> {
    const entry = this.servers.get(port);
    if (!entry) return;
    this.servers.delete(port);
    const closed = new Promise<void>((r) => entry.server.close(() => r()));
    entry.server.closeAllConnections(); // keep-alive probes must not hold the port open
    await closed;
  }
}

function listening(server: Server, start: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve();
    });
    start();
  });
}

/** kube-proxy's answer to any request: the body names the Service and its local endpoint count. */
function answer(info: HealthCheckInfo, healthy: boolean, _req: IncomingMessage, res: ServerResponse): void {
  const body = JSON.stringify({
    service: { namespace: info.namespace, name: info.name },
    localEndpoints: info.localEndpoints,
    serviceProxyHealthy: healthy,
  });
  res.writeHead(info.localEndpoints > 0 && healthy ? 200 : 503, {
    'Content-Type': 'application/json',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(body);
}
