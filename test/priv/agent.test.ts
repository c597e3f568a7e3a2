/**
 * The node agent end to end, real kernel (nftables mode in a closed
 * topology), real @kubernetes/client-node against the API-server stand-in
 * (test/support/apiserver.ts; no kube-apiserver can run here), real traffic.
 * The agent runs as a child process (`svcproxy agent`), killed by its PID
 * only; the last case runs startAgent() in-process. The cases run in order
 * and share one topology: each starts from what the previous left.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent } from '../../src/agent/agent.js';
import { createLogger } from '../../src/agent/log.js';
import { open } from '../../src/api/proxy.js';
import { NODE_IP, Topology, type Attempt } from '../../src/sandbox/topology.js';
import { REFUSE_MS } from '../../src/testing/conformance/reject.js';
import { ApiServerStandIn, NODES, SERVICES, SLICES } from '../support/apiserver.js';
import { probeHttp } from '../support/probe.js';
import { AgentChild, kubeNode, kubeService, kubeSlice, writeKubeconfig, type LogLine } from '../support/apiserver-fixtures.js';

const NODE = 'agent-node';
const WEB = '10.96.0.10';
const GONE = '10.96.0.11';
const EMPTY = '10.96.0.12';
const EXTRA = '10.96.0.13';
const LB = '10.96.0.14';
const HC_PORT = 30700;

const landed = (a: Attempt[]) => new Set(a.filter((x) => x.ok).map((x) => x.backend!));
const failures = (a: Attempt[]) => a.filter((x) => !x.ok).map((x) => `${x.host}:${x.port} ${x.error}`);
const changes = (lines: LogLine[]) => lines.reduce((n, l) => n + Number(l.added) + Number(l.changed) + Number(l.removed), 0);

async function until<T>(f: () => Promise<T | undefined> | T | undefined, what: string, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, body: await r.text() };
}

/** one sample's value from Prometheus text, e.g. metric(text, 'svcproxy_mode{mode="nftables"}') */
function metric(text: string, sample: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}

describe('svcproxy agent (nftables, closed topology, API-server stand-in)', () => {
  let t: Topology;
  let api: ApiServerStandIn;
  let dir: string;
  let kubeconfig: string;
  let agent: AgentChild | undefined;
  let backends: string[];
  const children: AgentChild[] = [];

  const connect = (host: string, count: number, timeoutMs = 2000) => t.connect({ targets: [{ host, port: 80 }], count, timeoutMs });
  const spawnAgent = () => {
    const a = new AgentChild([
      '--kubeconfig', kubeconfig, '--netns', t.node, '--proxy-mode', 'nftables', '--hostname-override', NODE,
      '--healthz-bind-address', '127.0.0.1:0', '--metrics-bind-address', '127.0.0.1:0', '--min-sync-period', '0s', '--log-level', 'debug',
    ]);
    children.push(a);
    return a;
  };

  beforeAll(async () => {
    t = await Topology.create({ backends: 3 });
    backends = t.backends.map((b) => b.addresses[0]!);
    api = new ApiServerStandIn();
    dir = mkdtempSync(join(tmpdir(), 'svcproxy-agent-'));
    kubeconfig = writeKubeconfig(dir, await api.listen());
    api.upsert(NODES, kubeNode(NODE, { zone: 'zone-a' }));
    api.upsert(SERVICES, kubeService('gone', GONE));
    api.upsert(SLICES, kubeSlice('gone-1', 'gone', backends.slice(0, 1)));
    api.upsert(SERVICES, kubeService('empty', EMPTY));
    api.upsert(SERVICES, kubeService('extra', EXTRA));
    api.upsert(SLICES, kubeSlice('extra-1', 'extra', backends.slice(0, 1)));
    agent = spawnAgent();
    await agent.waitFor((l) => String(l.msg).startsWith('first sync: 3 ports programmed'));
  });

  afterAll(async () => {
    for (const c of children) await c.kill('SIGKILL');
    const p = await open({ mode: 'nftables', netns: t.node }).catch(() => undefined);
    await p?.cleanup().catch(() => {});
    await p?.close();
    await api?.close();
    await t?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs its listing and first sync, then programs a Service created through the stand-in: it answers on every endpoint', async () => {
    expect(agent!.lines.find((l) => l.msg === 'listing: 3 services, 2 slices')).toBeDefined();
    const from = agent!.lines.length;
    api.upsert(SERVICES, kubeService('web', WEB));
    api.upsert(SLICES, kubeSlice('web-1', 'web', backends));
    await agent!.waitFor((l) => l.msg === 'partial sync' && l.owned === 4, 10_000, from);
    const a = await until(async () => {
      const r = await connect(WEB, 30);
      return landed(r).size === 3 ? r : undefined;
    }, 'web answering on all three backends');
    expect(failures(a)).toEqual([]);
  });

  it('stops sending new connections to an endpoint removed from the slice', async () => {
    const from = agent!.lines.length;
    api.upsert(SLICES, kubeSlice('web-1', 'web', backends.slice(0, 2)));
    await agent!.waitFor((l) => l.msg === 'partial sync' && l.changed === 1, 10_000, from);
    const a = await connect(WEB, 30);
    expect(failures(a)).toEqual([]);
    expect([...landed(a)].sort()).toEqual(['b0', 'b1']);
  });

  it('a deleted Service stops forwarding (its IP leads nowhere), one without endpoints rejects each connect at once', async () => {
    expect(failures(await connect(GONE, 2))).toEqual([]);
    const from = agent!.lines.length;
    api.remove(SERVICES, 'default', 'gone');
    api.remove(SLICES, 'default', 'gone-1');
    await agent!.waitFor((l) => l.msg === 'partial sync' && l.removed === 1, 10_000, from);
    const gone = await connect(GONE, 2, 500);
    expect(gone.map((x) => x.error)).toEqual(['ETIMEDOUT', 'ETIMEDOUT']); // the topology's way out is a blackhole
    const empty = await connect(EMPTY, 10, 3000);
    expect(empty.map((x) => `${x.error}${x.ms < REFUSE_MS ? '' : ' slow'}`)).toEqual(empty.map(() => 'ECONNREFUSED'));
  });

  it('a watch reset and a forced 410 re-list keep every connection working and change only what changed meanwhile', async () => {
    const load = await t.startLoad({ targets: [{ host: WEB, port: 80 }], rate: 25, longLived: 2 });
    const from = agent!.lines.length;
    let report;
    try {
      const watchesBefore = api.log.filter((l) => l.startsWith('watch ')).length;
      api.dropWatches(); // reconnect from the last resourceVersion: nothing to do
      await until(() => api.log.filter((l) => l.startsWith('watch ')).length >= watchesBefore + 3 || undefined, 're-watch after the drop');
      const listsBefore = api.log.filter((l) => l.startsWith('list ')).length;
      api.compact();
      api.remove(SERVICES, 'default', 'extra'); // missed by the dropped watch, found by the re-list
      api.compact();
      api.dropWatches();
      await until(() => api.log.filter((l) => l.startsWith('list ')).length >= listsBefore + 3 || undefined, 're-list after 410');
      await agent!.waitFor((l) => l.msg === 'partial sync' && l.removed === 1, 10_000, from);
      await new Promise((r) => setTimeout(r, 1000)); // load keeps running across it
    } finally {
      report = await load.stop();
    }
    const syncs = agent!.syncs(from);
    // no full re-apply, no flush: the only change in the kernel is the one Service removed meanwhile
    expect(syncs.every((l) => l.full === false)).toBe(true);
    expect(changes(syncs)).toBe(1);
    expect(agent!.lines.slice(from).filter((l) => l.msg === 'watch failed, retrying').length).toBeGreaterThan(0);
    expect({ failed: report.failed, broken: report.broken, stalled: report.stalled, errors: report.errors }).toEqual({ failed: 0, broken: 0, stalled: 0, errors: {} });
    expect(report.connects).toBeGreaterThan(20);
    expect(failures(await connect(EXTRA, 1, 500))).toEqual([`${EXTRA}:80 ETIMEDOUT`]);
  });

  it('/metrics has kube-proxy\'s sync metrics and svcproxy\'s own, with sane values', async () => {
    const { metrics } = await agent!.ports();
    const { status, body } = await get(metrics, '/metrics');
    expect(status).toBe(200);
    const now = Date.now() / 1000;
    expect(metric(body, 'svcproxy_mode{mode="nftables"}')).toBe(1);
    expect(metric(body, 'svcproxy_owned_objects')).toBe(2); // web, empty
    expect(metric(body, 'svcproxy_sync_repaired_total')).toBe(0);
    const last = metric(body, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds')!;
    expect(now - last).toBeGreaterThanOrEqual(0);
    expect(now - last).toBeLessThan(60);
    const syncs = agent!.syncs().length;
    expect(metric(body, 'kubeproxy_sync_proxy_rules_duration_seconds_count')).toBe(syncs);
    expect(metric(body, 'svcproxy_sync_kernel_seconds_count')).toBe(syncs);
    // every Service event since start: 3 listed, web added, gone and extra deleted
    expect(metric(body, 'kubeproxy_sync_proxy_rules_service_changes_total')).toBe(6);
    expect(metric(body, 'kubeproxy_sync_proxy_rules_endpoint_changes_total')).toBeGreaterThanOrEqual(5);
    const programmed = metric(body, 'kubeproxy_network_programming_duration_seconds_count')!;
    expect(programmed).toBeGreaterThanOrEqual(4);
    expect(metric(body, 'kubeproxy_network_programming_duration_seconds_bucket{le="+Inf"}')).toBe(programmed);
    expect(metric(body, 'kubeproxy_network_programming_duration_seconds_sum')! / programmed).toBeLessThan(5);
  });

  it('/healthz is 200 after the first sync and 503 while the Node is being deleted; /livez ignores the Node', async () => {
    const { healthz } = await agent!.ports();
    const ok = await get(healthz, '/healthz');
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ nodeEligible: true });
    expect(Object.keys(JSON.parse(ok.body)).sort()).toEqual(['currentTime', 'lastUpdated', 'nodeEligible']);
    api.upsert(NODES, kubeNode(NODE, { zone: 'zone-a', deleting: true }));
    const bad = await until(async () => {
      const r = await get(healthz, '/healthz');
      return r.status === 503 ? r : undefined;
    }, '/healthz 503');
    expect(JSON.parse(bad.body)).toMatchObject({ nodeEligible: false });
    expect((await get(healthz, '/livez')).status).toBe(200);
    expect((await get(healthz, '/nope')).status).toBe(404);
    api.upsert(NODES, kubeNode(NODE, { zone: 'zone-a' }));
    await until(async () => ((await get(healthz, '/healthz')).status === 200) || undefined, '/healthz 200 again');
  });

  it('healthCheckNodePort flips 200/503 as local endpoints come and go, probed from the client namespace; closed when the Service goes', async () => {
    const lb = kubeService('lb', LB, [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30180 }], { type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: HC_PORT });
    const probe = () => probeHttp(t, NODE_IP, HC_PORT);
    const answer = (status: number, localEndpoints: number) => until(async () => {
      const r = await probe();
      return r.status === status && (r.body as { localEndpoints?: number }).localEndpoints === localEndpoints ? r : undefined;
    }, `healthCheckNodePort ${status} with ${localEndpoints} local endpoints`);
    api.upsert(SERVICES, lb);
    api.upsert(SLICES, kubeSlice('lb-1', 'lb', backends.slice(0, 2), { nodeName: NODE }));
    const up = await answer(200, 2);
    expect(up.body).toEqual({ service: { namespace: 'default', name: 'lb' }, localEndpoints: 2, serviceProxyHealthy: true });
    // the same endpoints on another node: none local here
    api.upsert(SLICES, kubeSlice('lb-1', 'lb', backends.slice(0, 2), { nodeName: 'other-node' }));
    expect((await answer(503, 0)).body).toMatchObject({ serviceProxyHealthy: true });
    api.upsert(SLICES, kubeSlice('lb-1', 'lb', backends.slice(0, 1), { nodeName: NODE }));
    await answer(200, 1);
    const from = agent!.lines.length;
    api.remove(SERVICES, 'default', 'lb');
    api.remove(SLICES, 'default', 'lb-1');
    await agent!.waitFor((l) => l.msg === 'partial sync' && l.removed === 1, 10_000, from);
    await until(async () => (await probe()).error === 'ECONNREFUSED' || undefined, 'healthCheckNodePort closed');
  });

  it('SIGKILLed and restarted, the agent adopts the rules: connections keep working and the first sync adds nothing', async () => {
    const load = await t.startLoad({ targets: [{ host: WEB, port: 80 }], rate: 25, longLived: 2 });
    let report;
    try {
      expect(await agent!.kill('SIGKILL')).toMatchObject({ signal: 'SIGKILL' });
      expect(failures(await connect(WEB, 5))).toEqual([]); // the kernel holds the rules with no agent
      agent = spawnAgent();
      const first = await agent.waitFor((l) => String(l.msg).startsWith('first sync:') && l.ports !== undefined);
      expect(first).toMatchObject({ ports: 2, added: 0, changed: 0, removed: 0 });
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      report = await load.stop();
    }
    expect({ failed: report.failed, broken: report.broken, stalled: report.stalled, errors: report.errors }).toEqual({ failed: 0, broken: 0, stalled: 0, errors: {} });
    // and it is live: a change goes through the new process
    const from = agent.lines.length;
    api.upsert(SLICES, kubeSlice('web-1', 'web', backends));
    await agent.waitFor((l) => l.msg === 'partial sync' && l.changed === 1, 10_000, from);
    expect([...landed(await connect(WEB, 30))].sort()).toEqual(['b0', 'b1', 'b2']);
  });

  it('SIGTERM stops it with exit status 0 and leaves the rules in place', async () => {
    expect(await agent!.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(agent!.lines.find((l) => l.msg === 'stopped; rules left in place')).toBeDefined();
    const a = await connect(WEB, 10);
    expect(failures(a)).toEqual([]);
    const p = await open({ mode: 'nftables', netns: t.node });
    try {
      expect((await p.read()).map((s) => s.name).sort()).toEqual(['empty', 'web']);
    } finally {
      await p.close();
    }
  });

  it('startAgent() in-process: ready adopts with no change; the periodic reconcile repairs drift, naming it; stop() leaves the rules', async () => {
    const lines: LogLine[] = [];
    const sink = { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) } as unknown as NodeJS.WritableStream;
    const h = await startAgent({
      config: { kubeconfig, netns: t.node, proxyMode: 'nftables', hostnameOverride: NODE, healthzBindAddress: '127.0.0.1:0', metricsBindAddress: '127.0.0.1:0', minSyncPeriod: '0s', syncPeriod: '1s' },
      log: createLogger('info', sink),
    });
    try {
      await h.ready;
      expect(h.status()).toMatchObject({ ready: true, mode: 'nftables', nodeName: NODE, nodeZone: 'zone-a', nodeEligible: true, healthy: true, services: 2 });
      expect(h.status().lastSync).toMatchObject({ full: true, added: 0, changed: 0, removed: 0, owned: 2 });
      expect((await get(h.healthz.port, '/healthz')).status).toBe(200);
      // drift: someone else removes web from the kernel; the next periodic full reconcile puts back just that
      const other = await open({ mode: 'nftables', netns: t.node });
      try {
        await other.update({ remove: [{ namespace: 'default', name: 'web' }] });
      } finally {
        await other.close();
      }
      const repair = await until(() => lines.find((l) => l.msg === 'full reconcile repaired drift'), 'a repair', 10_000);
      expect(repair).toMatchObject({ added: 1, changed: 0, removed: 0, repaired: ['+ default/web:http/TCP:80 v4'] });
      expect(failures(await connect(WEB, 5))).toEqual([]);
      expect(metric((await get(h.metrics.port, '/metrics')).body, 'svcproxy_sync_repaired_total')).toBe(1);
    } finally {
      await h.stop();
    }
    expect(failures(await connect(WEB, 5))).toEqual([]);
  });
});
