/**
 * healthCheckNodePort servers without a netns, on loopback: kube-proxy's
 * status/body/headers, counts updated in place, a port in use logged while
 * the others keep working, removal and close() free the ports.
 */
import { Agent, request } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HealthCheckServers } from '../../src/agent/healthcheck.js';

interface Reply { status: number; headers: Record<string, unknown>; body: unknown; reused: boolean }

function get(port: number, path = '/', agent: Agent | false = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(body), reused: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end();
  });
}

const refused = (port: number) => get(port).then(() => 'answered', (e: NodeJS.ErrnoException) => e.code);

/** Ports free right now (held briefly by the kernel's choice, then released). */
async function freePorts(n: number): Promise<number[]> {
  const held: Server[] = [];
  for (let i = 0; i < n; i++) {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    held.push(s);
  }
  const ports = held.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

const info = (name: string, localEndpoints: number) => ({ namespace: 'shop', name, localEndpoints });

describe('HealthCheckServers (loopback)', () => {
  let hc: HealthCheckServers | undefined;
  let blocker: Server | undefined;
  afterEach(async () => {
    await hc?.close();
    if (blocker) await new Promise((r) => blocker!.close(r));
    blocker = undefined;
  });

  it('answers 503 with 0 local endpoints and 200 with N, with kube-proxy\'s body and headers', async () => {
    const [a] = await freePorts(1);
    hc = new HealthCheckServers({ address: '127.0.0.1' });
    await hc.sync(new Map([[a!, info('web', 0)]]));
    const none = await get(a!, '/healthz');
    expect(none.status).toBe(503);
    expect(none.body).toEqual({ service: { namespace: 'shop', name: 'web' }, localEndpoints: 0, serviceProxyHealthy: true });
    expect(none.headers['content-type']).toBe('application/json');
    expect(none.headers['x-content-type-options']).toBe('nosniff');

    await hc.sync(new Map([[a!, info('web', 2)]]));
    const two = await get(a!, '/any/path');
    expect(two.status).toBe(200);
    expect(two.body).toEqual({ service: { namespace: 'shop', name: 'web' }, localEndpoints: 2, serviceProxyHealthy: true });
  });

  it('answers 503 with serviceProxyHealthy false while the proxy itself is unhealthy, whatever the count', async () => {
    const [a] = await freePorts(1);
    let healthy = false;
    hc = new HealthCheckServers({ address: '127.0.0.1', healthy: () => healthy });
    await hc.sync(new Map([[a!, info('web', 2)]]));
    expect(await get(a!)).toMatchObject({ status: 503, body: { localEndpoints: 2, serviceProxyHealthy: false } });
    healthy = true;
    expect(await get(a!)).toMatchObject({ status: 200, body: { localEndpoints: 2, serviceProxyHealthy: true } });
  });

  it('updates counts in place: a kept-alive probe connection survives the sync (a re-listen would close it)', async () => {
    const [a] = await freePorts(1);
    const logs: string[] = [];
    hc = new HealthCheckServers({ address: '127.0.0.1', log: (m) => logs.push(m) });
    await hc.sync(new Map([[a!, info('web', 1)]]));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await get(a!, '/', agent);
      await hc.sync(new Map([[a!, info('web', 3)]]));
      const second = await get(a!, '/', agent);
      expect(first).toMatchObject({ status: 200, body: { localEndpoints: 1 }, reused: false });
      expect(second).toMatchObject({ status: 200, body: { localEndpoints: 3 }, reused: true });
    } finally {
      agent.destroy();
    }
    expect(logs).toEqual([]);
  });

  it('logs a port in use once, naming service and port, and keeps the others working; removal and close() free ports', async () => {
    const [busy, ok] = await freePorts(2);
    blocker = createServer();
    await new Promise<void>((r) => blocker!.listen(busy, '127.0.0.1', r));
    const logs: string[] = [];
    hc = new HealthCheckServers({ address: '127.0.0.1', log: (m) => logs.push(m) });
    const both = new Map([[busy!, info('taken', 1)], [ok!, info('fine', 1)]]);
    await hc.sync(both);
    await hc.sync(both);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toContain(`port ${busy}`);
    expect(logs[0]).toContain('shop/taken');
    expect(logs[0]).toContain('EADDRINUSE');
    expect((await get(ok!)).status).toBe(200);

    // the port is freed: the next sync opens it
    await new Promise((r) => blocker!.close(r));
    blocker = undefined;
    await hc.sync(both);
    expect((await get(busy!)).body).toMatchObject({ service: { name: 'taken' } });

    await hc.sync(new Map([[ok!, info('fine', 1)]]));
    expect(await refused(busy!)).toBe('ECONNREFUSED');
    expect((await get(ok!)).status).toBe(200);
    await hc.close();
    expect(await refused(ok!)).toBe('ECONNREFUSED');
  });
});
