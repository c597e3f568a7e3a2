/**
 * The agent's two HTTP servers (node:http, no framework): /healthz and
 * /livez on the healthz address, /metrics on the metrics address. Port 0
 * binds an ephemeral port; the bound one is returned.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HealthReply, HealthState } from './health.js';
import type { AgentMetrics } from './metrics.js';

export interface Bound {
  address: string;
  port: number;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** "0.0.0.0:10256", "[::1]:0" -> host, port */
export function splitHostPort(hostPort: string): { host: string; port: number } {
  const i = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host: host || '0.0.0.0', port: Number(hostPort.slice(i + 1)) };
}

export async function serve(hostPort: string, routes: Record<string, Handler>): Promise<Bound> {
  const server: Server = createServer((req, res) => {
    const route = routes[new URL(req.url ?? '/', 'http://x').pathname];
    if (!route || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
      return;
    }
    Promise.resolve(route(req, res)).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`${String(e)}\n`);
    });
  });
  const { host, port } = splitHostPort(hostPort);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  return {
    address: a.address,
    port: a.port,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

function sendHealth(res: ServerResponse, reply: HealthReply): void {
  res.writeHead(reply.status, { 'content-type': 'application/json', 'x-content-type-options': 'nosniff' });
  res.end(JSON.stringify(reply.body));
}

export function healthRoutes(health: HealthState): Record<string, Handler> {
  return {
    '/healthz': (_req, res) => sendHealth(res, health.healthz()),
    '/livez': (_req, res) => sendHealth(res, health.livez()),
  };
}

export function metricsRoutes(metrics: AgentMetrics): Record<string, Handler> {
  return {
    '/metrics': async (_req, res) => {
      const text = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text);
    },
  };
}
