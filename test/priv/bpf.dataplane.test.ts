/**
 * bpf mode with real traffic: a closed topology, a cgroup created here (the
 * only one programs attach to), a private bpffs for the pins. The client
 * joins the cgroup, so its connect()/sendmsg() are translated.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open, type ServiceProxy } from '../../src/api/proxy.js';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createBpfDataplane } from '../../src/dataplanes/bpf/index.js';
import { pinPaths } from '../../src/dataplanes/bpf/paths.js';
import { parseServices } from '../../src/model/index.js';
import { diff } from '../../src/plan/index.js';
import { mountPrivateBpffs, TestCgroup } from '../../src/sandbox/cgroup.js';
import { sh } from '../../src/sandbox/shell.js';
import { NODE_IP, Topology } from '../../src/sandbox/topology.js';

const VIP = '10.96.0.10';

function services(opts: { endpoints?: number[]; affinity?: boolean; nodePort?: number; extra?: object[] } = {}) {
  const eps = (opts.endpoints ?? [0, 1, 2]).map((i) => ({ address: `10.244.0.${10 + i}` }));
  return parseServices(
    JSON.stringify({
      services: [
        {
          name: 'web',
          type: opts.nodePort ? 'NodePort' : 'ClusterIP',
          clusterIP: VIP,
          ports: [
            { name: 'http', port: 80, targetPort: 8080, ...(opts.nodePort ? { nodePort: opts.nodePort } : {}) },
            { name: 'dns', protocol: 'UDP', port: 53, targetPort: 8080 },
          ],
          ...(opts.affinity ? { sessionAffinity: 'ClientIP', sessionAffinityTimeoutSeconds: 60 } : {}),
          endpoints: eps,
        },
        { name: 'empty', clusterIP: '10.96.0.11', ports: [{ name: 'tcp', port: 80, targetPort: 8080 }, { name: 'udp', protocol: 'UDP', port: 80, targetPort: 8080 }] },
        ...(opts.extra ?? []),
      ],
    }),
  );
}

// Unconnected UDP (sendmsg4/recvmsg4) and TCP getpeername, seen from the client.
const PEER_CHECK = `
import socket, sys, json
vip, tport, uport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
u.sendto(b'hi\\n', (vip, uport)); data, src = u.recvfrom(1000)
t = socket.create_connection((vip, tport), timeout=2); peer = t.getpeername(); tdata = t.recv(1000)
print(json.dumps({'udpFrom': list(src), 'udpData': data.decode(), 'tcpPeer': list(peer), 'tcpData': tdata.decode()}))
`;

const UDP_REJECT = `
import socket, sys, errno
vip, port = sys.argv[1], int(sys.argv[2])
res = []
try:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).connect((vip, port)); res.append('connect ok')
except OSError as e: res.append('connect ' + errno.errorcode[e.errno])
try:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', (vip, port)); res.append('sendto ok')
except OSError as e: res.append('sendto ' + errno.errorcode[e.errno])
print(' / '.join(res))
`;

describe('bpf dataplane (real traffic, test cgroup)', () => {
  let topo: Topology;
  let cg: TestCgroup;
  let bpffs: Awaited<ReturnType<typeof mountPrivateBpffs>>;
  let proxy: ServiceProxy;

  beforeAll(async () => {
    bpffs = await mountPrivateBpffs();
    process.env.SVCPROXY_BPFFS = bpffs.path;
    cg = TestCgroup.create('svp-bpf');
    topo = await Topology.create({ backends: 3 });
    proxy = await open({ mode: 'bpf', netns: topo.node, cgroup: cg.path });
  });

  afterAll(async () => {
    await proxy?.cleanup().catch(() => {});
    await topo?.destroy();
    await cg?.remove();
    await bpffs?.unmount();
    delete process.env.SVCPROXY_BPFFS;
  });

  it('refuses without a cgroup, naming the option', async () => {
    const dp = createBpfDataplane({ netns: 'whatever' });
    await expect(dp.read()).rejects.toThrow(/--cgroup PATH/);
  });

  it('spreads TCP and UDP over every endpoint, only for sockets in the cgroup', async () => {
    await proxy.apply(services());
    const tcp = await topo.connect({ targets: [{ host: VIP, port: 80 }], count: 60, cgroup: cg.path });
    expect(tcp.every((a) => a.ok)).toBe(true);
    expect(new Set(tcp.map((a) => a.backend))).toEqual(new Set(['b0', 'b1', 'b2']));
    const udp = await topo.connect({ targets: [{ host: VIP, port: 53, proto: 'UDP' }], count: 30, cgroup: cg.path });
    expect(udp.every((a) => a.ok)).toBe(true);
    expect(new Set(udp.map((a) => a.backend)).size).toBeGreaterThan(1);
    // the same client outside the cgroup is not translated (VIP leads nowhere)
    const outside = await topo.connect({ targets: [{ host: VIP, port: 80 }], count: 1, timeoutMs: 500 });
    expect(outside[0]!.ok).toBe(false);
  });

  it('reads back exactly what it applied', async () => {
    const desired = await proxy.desired(services());
    const actual = await proxy.read();
    expect(diff(desired, actual)).toEqual({ added: [], removed: [], changed: [], unchanged: desired.length });
  });

  it('shows the VIP to UDP recvfrom and TCP getpeername', async () => {
    const r = await cg.run(['python3', '-c', PEER_CHECK, VIP, '80', '53'], { netns: topo.client });
    expect(r.code, r.err).toBe(0);
    const seen = JSON.parse(r.out) as { udpFrom: [string, number]; tcpPeer: [string, number]; udpData: string; tcpData: string };
    expect(seen.udpFrom).toEqual([VIP, 53]);
    expect(seen.tcpPeer).toEqual([VIP, 80]);
    expect(seen.udpData).toMatch(/^b[012] \S+:8080 10\.250\.0\.2:/);
    expect(seen.tcpData).toMatch(/^b[012] 10\.244\.0\.1[012]:8080 10\.250\.0\.2:/);
  });

  it('rejects at once when a service has no endpoints', async () => {
    const [a] = await topo.connect({ targets: [{ host: '10.96.0.11', port: 80 }], count: 1, cgroup: cg.path });
    expect(a!.ok).toBe(false);
    expect(a!.error).toBe('ECONNREFUSED');
    expect(a!.ms).toBeLessThan(500);
    // connected and unconnected UDP are refused the same way
    const udp = await cg.run(['python3', '-c', UDP_REJECT, '10.96.0.11', '80'], { netns: topo.client });
    expect(udp.out.trim()).toBe('connect ECONNREFUSED / sendto ECONNREFUSED');
  });

  it('counts translated and rejected connects per service port', async () => {
    const dp = createBpfDataplane({ netns: topo.node, cgroup: cg.path });
    const keys = Object.fromEntries((await proxy.read()).map((st) => [`${st.name}:${st.portName}`, st.key]));
    const before = await dp.counters();
    expect([...before.keys()].sort()).toEqual(Object.values(keys).sort());
    await topo.connect({ targets: [{ host: VIP, port: 80 }], count: 25, cgroup: cg.path });
    await topo.connect({ targets: [{ host: '10.96.0.11', port: 80 }], count: 3, cgroup: cg.path });
    await cg.run(['python3', '-c', UDP_REJECT, '10.96.0.11', '80'], { netns: topo.client }); // connect + sendto
    const after = await dp.counters();
    const delta = (k: string) => {
      const a = after.get(keys[k]!)!;
      const b = before.get(keys[k]!)!;
      return { translated: a.translated - b.translated, rejected: a.rejected - b.rejected, dropped: a.dropped - b.dropped };
    };
    expect(delta('web:http')).toEqual({ translated: 25, rejected: 0, dropped: 0 });
    expect(delta('empty:tcp')).toEqual({ translated: 0, rejected: 3, dropped: 0 });
    expect(delta('empty:udp')).toEqual({ translated: 0, rejected: 2, dropped: 0 });
    expect(delta('web:dns')).toEqual({ translated: 0, rejected: 0, dropped: 0 });
  });

  it('fails at once with ETIMEDOUT where kube-proxy drops (endpoints, none local)', async () => {
    const local = {
      name: 'local',
      clusterIP: '10.96.0.12',
      internalTrafficPolicy: 'Local',
      ports: [{ name: 'tcp', port: 80, targetPort: 8080 }, { name: 'udp', protocol: 'UDP', port: 80, targetPort: 8080 }],
      endpoints: [{ address: '10.244.0.10', nodeName: 'some-other-node' }],
    };
    await proxy.apply(services({ extra: [local] }));
    const st = (await proxy.read()).find((x) => x.name === 'local' && x.portName === 'tcp')!;
    expect({ internal: st.internal, hasEndpoints: st.hasEndpoints }).toEqual({ internal: [], hasEndpoints: true });
    const [a] = await topo.connect({ targets: [{ host: '10.96.0.12', port: 80 }], count: 1, timeoutMs: 3000, cgroup: cg.path });
    expect(a!.ok).toBe(false);
    expect(a!.error).toBe('ETIMEDOUT');
    expect(a!.ms).toBeLessThan(500); // not the client's own 3 s timeout: the program said so
    const udp = await cg.run(['python3', '-c', UDP_REJECT, '10.96.0.12', '80'], { netns: topo.client });
    expect(udp.out.trim()).toBe('connect ETIMEDOUT / sendto ETIMEDOUT');
    const counters = await createBpfDataplane({ netns: topo.node, cgroup: cg.path }).counters();
    expect(counters.get(st.key)).toEqual({ translated: 0, rejected: 0, dropped: 1 });
    // the service without any endpoint still rejects
    const [r] = await topo.connect({ targets: [{ host: '10.96.0.11', port: 80 }], count: 1, cgroup: cg.path });
    expect(r!.error).toBe('ECONNREFUSED');
  });

  it('stops sending to a removed endpoint', async () => {
    await proxy.apply(services({ endpoints: [0, 2] }));
    const tcp = await topo.connect({ targets: [{ host: VIP, port: 80 }], count: 40, cgroup: cg.path });
    expect(tcp.every((a) => a.ok)).toBe(true);
    expect(new Set(tcp.map((a) => a.backend))).toEqual(new Set(['b0', 'b2']));
    expect(diff(await proxy.desired(services({ endpoints: [0, 2] })), await proxy.read()).changed).toEqual([]);
  });

  it('pins a client with ClientIP affinity', async () => {
    await proxy.apply(services({ affinity: true }));
    const tcp = await topo.connect({ targets: [{ host: VIP, port: 80 }], count: 20, cgroup: cg.path });
    expect(tcp.every((a) => a.ok)).toBe(true);
    expect(new Set(tcp.map((a) => a.backend)).size).toBe(1);
  });

  it('answers a node port on the node addresses', async () => {
    await proxy.apply(services({ nodePort: 30080 }));
    const tcp = await topo.connect({ targets: [{ host: NODE_IP, port: 30080 }], count: 30, cgroup: cg.path });
    expect(tcp.every((a) => a.ok)).toBe(true);
    expect(new Set(tcp.map((a) => a.backend))).toEqual(new Set(['b0', 'b1', 'b2']));
  });

  it('keeps forwarding without the process, and a new one re-adopts the pins', async () => {
    const set = services({ nodePort: 30080 });
    await proxy.close();
    const again = await open({ mode: 'bpf', netns: topo.node, cgroup: cg.path });
    const plan = await again.apply(set);
    expect(plan.plan.changes.added.length + plan.plan.changes.changed.length + plan.plan.changes.removed.length).toBe(0);
    const tcp = await topo.connect({ targets: [{ host: VIP, port: 80 }], count: 10, cgroup: cg.path });
    expect(tcp.every((a) => a.ok)).toBe(true);
    proxy = again;
  });

  it('removes services and then everything it pinned', async () => {
    await proxy.apply(parseServices(JSON.stringify({ services: [] })));
    expect(await proxy.read()).toEqual([]);
    await proxy.cleanup();
    // a fresh bpffs holds only the kernel's own maps.debug/progs.debug
    expect(readdirSync(bpffs.path).filter((f) => !f.endsWith('.debug'))).toEqual([]);
    const after = await topo.connect({ targets: [{ host: VIP, port: 80 }], count: 1, timeoutMs: 500, cgroup: cg.path });
    expect(after[0]!.ok).toBe(false);
  });

  it('pins under DataplaneOptions.bpffs (--bpffs) over SVCPROXY_BPFFS', async () => {
    // the variable still points at the suite's private bpffs: if the option
    // were ignored, the pins would land there (never in the host's /sys/fs/bpf)
    const own = await mountPrivateBpffs();
    const cg2 = TestCgroup.create('svp-bpf-opt');
    let p2: ServiceProxy | undefined;
    try {
      p2 = await open({ mode: 'bpf', netns: topo.node, cgroup: cg2.path, bpffs: own.path });
      expect((await p2.detect()).usable).toBe(true);
      await p2.apply(services());
      expect(existsSync(pinPaths(cg2.path, own.path).services)).toBe(true);
      expect(existsSync(join(bpffs.path, 'svcproxy'))).toBe(false);
      const tcp = await topo.connect({ targets: [{ host: VIP, port: 80 }], count: 10, cgroup: cg2.path });
      expect(tcp.every((a) => a.ok)).toBe(true);
      await p2.cleanup();
      expect(readdirSync(own.path).filter((f) => !f.endsWith('.debug'))).toEqual([]);
    } finally {
      await p2?.cleanup().catch(() => {});
      await cg2.remove();
      await own.unmount();
    }
  });
});

describe('bpf dataplane: a group over several backend pages (real traffic)', () => {
  let topo: Topology;
  let cg: TestCgroup;
  let bpffs: Awaited<ReturnType<typeof mountPrivateBpffs>>;
  let proxy: ServiceProxy | undefined;

  beforeAll(async () => {
    bpffs = await mountPrivateBpffs();
    cg = TestCgroup.create('svp-bpf-pages');
    topo = await Topology.create({ backends: 3, addressesPerBackend: 4 });
  });

  afterAll(async () => {
    await proxy?.cleanup().catch(() => {});
    await topo?.destroy();
    await cg?.remove();
    await bpffs?.unmount();
  });

  it('refuses input it cannot store before loading anything', async () => {
    const dp = createBpfDataplane({ netns: topo.node, cgroup: cg.path, bpffs: bpffs.path });
    const [good] = await (await open({ mode: 'bpf', netns: topo.node, cgroup: cg.path, bpffs: bpffs.path })).desired(services());
    const bad = { ...good!, key: 'default/we b:http/TCP@4' };
    await expect(dp.apply({ desired: [bad], actual: [], changes: { added: [bad], removed: [], changed: [], unchanged: 0 } })).rejects.toThrow(/cannot be stored/);
    expect(existsSync(pinPaths(cg.path, bpffs.path).dir)).toBe(false);
    // bpftool prints nothing at all for a cgroup without programs
    expect((await sh(['bpftool', '-j', 'cgroup', 'show', cg.path])).trim() || '[]').toBe('[]');
  });

  it('reaches all 12 endpoints, slots 8-11 on the second page included', async () => {
    const addrs = topo.backends.flatMap((b) => b.addresses);
    expect(addrs).toHaveLength(12);
    proxy = await open({ mode: 'bpf', netns: topo.node, cgroup: cg.path, bpffs: bpffs.path });
    const set = parseServices(
      JSON.stringify({ services: [{ name: 'wide', clusterIP: VIP, ports: [{ name: 'http', port: 80, targetPort: 8080 }], endpoints: addrs.map((address) => ({ address })) }] }),
    );
    await proxy.apply(set);
    const tcp = await topo.connect({ targets: [{ host: VIP, port: 80 }], count: 200, cgroup: cg.path });
    expect(tcp.every((a) => a.ok)).toBe(true);
    expect(new Set(tcp.map((a) => a.local!.split(':')[0]))).toEqual(new Set(addrs));
    expect(diff(await proxy.desired(set), await proxy.read()).changed).toEqual([]);
  });
});
