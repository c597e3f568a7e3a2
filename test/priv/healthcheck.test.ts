/**
 * healthCheckNodePort servers in the node namespace of a closed topology,
 * probed over real TCP from the client namespace as a load balancer would:
 * 503 with no local endpoints, 200 once there are (body says how many),
 * a removed port refuses, close() closes all, and the sockets live in the
 * node namespace, not in this process's own one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HealthCheckServers } from '../../src/agent/healthcheck.js';
import { listenTcp } from '../../src/native/listen.js';
import { SvcproxyError } from '../../src/errors.js';
import { NODE_IP, Topology } from '../../src/sandbox/topology.js';
import { probeHttp } from '../support/probe.js';

const PORT_A = 30600;
const PORT_B = 30601;

describe('healthCheckNodePort servers (closed topology, probed from the client namespace)', () => {
  let t: Topology;
  let hc: HealthCheckServers | undefined;
  const logs: string[] = [];

  /** GET over real TCP from the client namespace to the node's address. */
  const probe = (port: number, host = NODE_IP) => probeHttp(t, host, port);

  beforeAll(async () => {
    t = await Topology.create({ backends: 0, servers: false });
  });
  afterAll(async () => {
    await hc?.close();
    await t?.destroy();
  });

  it('answers 503 with 0 local endpoints, 200 with 2, closes a removed port, and close() closes all', async () => {
    hc = new HealthCheckServers({ netns: t.node, log: (m) => logs.push(m) });
    await hc.sync(new Map([[PORT_A, { namespace: 'shop', name: 'web', localEndpoints: 0 }]]));
    const none = await probe(PORT_A);
    expect(none).toMatchObject({ status: 503, body: { service: { namespace: 'shop', name: 'web' }, localEndpoints: 0, serviceProxyHealthy: true } });
    expect(none.headers['content-type']).toBe('application/json');
    expect(none.headers['x-content-type-options']).toBe('nosniff');

    await hc.sync(new Map([
      [PORT_A, { namespace: 'shop', name: 'web', localEndpoints: 2 }],
      [PORT_B, { namespace: 'shop', name: 'api', localEndpoints: 1 }],
    ]));
    expect(await probe(PORT_A)).toMatchObject({ status: 200, body: { service: { name: 'web' }, localEndpoints: 2 } });
    expect(await probe(PORT_B)).toMatchObject({ status: 200, body: { service: { name: 'api' }, localEndpoints: 1 } });

    await hc.sync(new Map([[PORT_B, { namespace: 'shop', name: 'api', localEndpoints: 1 }]]));
    expect((await probe(PORT_A)).error).toBe('ECONNREFUSED');
    expect((await probe(PORT_B)).status).toBe(200);

    await hc.close();
    expect((await probe(PORT_B)).error).toBe('ECONNREFUSED');
    expect(logs).toEqual([]);
  });

  it('binds to the given node address, and a port in use is one log line while the other port works', async () => {
    hc = new HealthCheckServers({ netns: t.node, address: NODE_IP, log: (m) => logs.push(m) });
    // something else on the node already holds PORT_A
    const other = new HealthCheckServers({ netns: t.node });
    await other.sync(new Map([[PORT_A, { namespace: 'kube-system', name: 'first', localEndpoints: 1 }]]));
    try {
      logs.length = 0;
      await hc.sync(new Map([
        [PORT_A, { namespace: 'shop', name: 'late', localEndpoints: 1 }],
        [PORT_B, { namespace: 'shop', name: 'api', localEndpoints: 3 }],
      ]));
      expect(logs).toHaveLength(1);
      expect(logs[0]).toMatch(new RegExp(`port ${PORT_A} for service shop/late: EADDRINUSE`));
      expect(await probe(PORT_B)).toMatchObject({ status: 200, body: { localEndpoints: 3 } });
      expect(await probe(PORT_A)).toMatchObject({ body: { service: { name: 'first' } } });
    } finally {
      await other.close();
      await hc.close();
    }
  });

  it('creates the socket inside the namespace: the node address cannot be bound in this process\'s namespace', async () => {
    const err = await listenTcp({ address: NODE_IP, port: PORT_A }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(SvcproxyError);
    expect((err as SvcproxyError).code).toBe('EADDRNOTAVAIL');
    await expect(listenTcp({ netns: t.node, address: 'not-an-ip', port: PORT_A })).rejects.toMatchObject({ code: 'EINVAL', field: 'address' });
    await expect(listenTcp({ netns: t.node, port: 0 })).rejects.toMatchObject({ code: 'EINVAL', field: 'port' });
    await expect(listenTcp({ netns: `${t.id}-missing`, port: PORT_A })).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
