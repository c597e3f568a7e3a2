/**
 * The native IPVS client against a real IPVS kernel (UML or a host with
 * IPVS), in a fresh network namespace: every command, dump, stats,
 * timeouts, sysctls, errnos, and agreement with ipvsadm.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sh, shSync } from '../../src/sandbox/shell.js';
import { FORWARD_METHODS, IP_VS_SVC_F, IPPROTO, IPVS_CMD, IPVS_SCHEDULERS, IpvsClient, type IpvsServiceSpec } from '../../src/native/ipvs.js';

const ns = `svp-ipvsc-${process.pid}`;
const ipvs = new IpvsClient(ns);
const tcp = (address: string, port: number, more: Partial<IpvsServiceSpec> = {}): IpvsServiceSpec => ({
  family: 4,
  protocol: IPPROTO.TCP,
  address,
  port,
  ...more,
});

beforeAll(async () => {
  await sh(['ip', 'netns', 'add', ns]);
  // IPVS refuses a v4 dest the namespace has no unicast route to (EINVAL).
  await sh(['ip', '-n', ns, 'link', 'add', 'd0', 'type', 'dummy']);
  await sh(['ip', '-n', ns, 'addr', 'add', '10.0.0.254/8', 'dev', 'd0']);
  await sh(['ip', '-n', ns, 'link', 'set', 'd0', 'up']);
  await sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
});
afterAll(() => shSync(['ip', 'netns', 'del', ns]));

describe('IPVS native client', () => {
  it('reads version info and an empty table', async () => {
    const info = await ipvs.info();
    expect(info.version).toMatch(/^1\.2\.\d+$/);
    expect(info.connTabSize).toBeGreaterThan(0);
    expect(await ipvs.services()).toEqual([]);
  });

  it('creates TCP/UDP/SCTP, v6 and fwmark services with every option, dumps them back, agrees with ipvsadm', async () => {
    const web = tcp('10.96.0.1', 80, { scheduler: 'wrr' });
    const sticky = tcp('10.96.0.2', 443, { scheduler: 'sh', flags: IP_VS_SVC_F.PERSISTENT, timeout: 600, netmask: 0xffffff00 });
    const dns: IpvsServiceSpec = { family: 4, protocol: IPPROTO.UDP, address: '10.96.0.10', port: 53, scheduler: 'lc' };
    const sctp: IpvsServiceSpec = { family: 4, protocol: IPPROTO.SCTP, address: '10.96.0.11', port: 9999 };
    const v6: IpvsServiceSpec = { family: 6, protocol: IPPROTO.TCP, address: 'fd00::1', port: 80, scheduler: 'rr' };
    const mark: IpvsServiceSpec = { family: 4, protocol: 0, address: '', port: 0, fwmark: 7, scheduler: 'mh' };
    await ipvs.apply([
      ...[web, sticky, dns, sctp, v6, mark].map((service) => ({ cmd: IPVS_CMD.NEW_SERVICE, service }) as const),
      { cmd: IPVS_CMD.NEW_DEST, service: web, dest: { address: '10.0.0.1', port: 8080, fwd: FORWARD_METHODS.masq, weight: 3, upperThreshold: 100, lowerThreshold: 10 } },
      { cmd: IPVS_CMD.NEW_DEST, service: web, dest: { address: '10.0.0.2', port: 8080, fwd: FORWARD_METHODS.tunnel, weight: 1 } },
      { cmd: IPVS_CMD.NEW_DEST, service: web, dest: { address: '10.0.0.3', port: 80, fwd: FORWARD_METHODS.droute, weight: 0 } },
      { cmd: IPVS_CMD.NEW_DEST, service: v6, dest: { address: 'fd00::10', port: 8080, fwd: FORWARD_METHODS.masq, weight: 1 } },
    ]);
    const all = await ipvs.services({ dests: true });
    expect(all).toHaveLength(6);
    const got = all.find((s) => s.address === '10.96.0.1')!;
    expect(got).toMatchObject({ family: 4, protocol: IPPROTO.TCP, port: 80, scheduler: 'wrr', timeout: 0, netmask: 0xffffffff });
    expect(got.dests!.map((d) => [d.address, d.port, d.fwd, d.weight, d.upperThreshold, d.lowerThreshold]).sort()).toEqual([
      ['10.0.0.1', 8080, FORWARD_METHODS.masq, 3, 100, 10],
      ['10.0.0.2', 8080, FORWARD_METHODS.tunnel, 1, 0, 0],
      ['10.0.0.3', 80, FORWARD_METHODS.droute, 0, 0, 0],
    ]);
    const st = all.find((s) => s.address === '10.96.0.2')!;
    expect(st.flags & IP_VS_SVC_F.PERSISTENT).toBe(IP_VS_SVC_F.PERSISTENT);
    expect(st).toMatchObject({ scheduler: 'sh', timeout: 600, netmask: 0xffffff00 });
    expect(all.find((s) => s.protocol === IPPROTO.UDP)).toMatchObject({ address: '10.96.0.10', port: 53, scheduler: 'lc' });
    expect(all.find((s) => s.protocol === IPPROTO.SCTP)).toMatchObject({ address: '10.96.0.11', port: 9999 });
    expect(all.find((s) => s.family === 6)).toMatchObject({ address: 'fd00::1', netmask: 128 });
    expect(all.find((s) => s.fwmark === 7)).toMatchObject({ scheduler: 'mh', address: '' });
    expect(typeof got.stats.conns).toBe('bigint');

    const listing = await sh(['ip', 'netns', 'exec', ns, 'ipvsadm', '-Ln']);
    expect(listing).toMatch(/TCP {2}10\.96\.0\.1:80 wrr/);
    expect(listing).toMatch(/-> 10\.0\.0\.1:8080 +Masq +3 /);
    expect(listing).toMatch(/-> 10\.0\.0\.2:8080 +Tunnel +1 /);
    expect(listing).toMatch(/-> 10\.0\.0\.3:80 +Route +0 /);
    expect(listing).toMatch(/TCP {2}10\.96\.0\.2:443 sh persistent 600 mask 255\.255\.255\.0/);
    expect(listing).toMatch(/UDP {2}10\.96\.0\.10:53 lc/);
    expect(listing).toMatch(/SCTP +10\.96\.0\.11:9999 rr/);
    expect(listing).toMatch(/FWM {2}7 mh/);
  });

  it('updates a service and a dest in place, reads dests of chosen services, reports errnos per op', async () => {
    const web = tcp('10.96.0.1', 80);
    await ipvs.apply([
      { cmd: IPVS_CMD.SET_SERVICE, service: { ...web, scheduler: 'lc' } },
      { cmd: IPVS_CMD.SET_DEST, service: web, dest: { address: '10.0.0.1', port: 8080, fwd: FORWARD_METHODS.masq, weight: 9 } },
    ]);
    const [dests, missing] = await ipvs.dests([web, tcp('10.99.99.99', 1)]);
    expect(dests!.find((d) => d.address === '10.0.0.1')!.weight).toBe(9);
    expect(missing).toBeNull();
    expect((await ipvs.services()).find((s) => s.address === '10.96.0.1')!.scheduler).toBe('lc');

    const res = await ipvs.batch([
      { cmd: IPVS_CMD.NEW_SERVICE, service: web },
      { cmd: IPVS_CMD.DEL_SERVICE, service: tcp('10.99.99.99', 1) },
      { cmd: IPVS_CMD.DEL_DEST, service: web, dest: { address: '10.1.1.1', port: 1, fwd: 0, weight: 0 } },
      { cmd: IPVS_CMD.NEW_SERVICE, service: tcp('10.96.0.50', 80, { scheduler: 'nosuch' }) },
    ]);
    expect(res.errors.map((e) => [e.index, e.code])).toEqual([
      [0, 'EEXIST'],
      [1, 'ESRCH'],
      [2, 'ENOENT'],
      [3, 'ENOENT'],
    ]);
    await expect(ipvs.apply([{ cmd: IPVS_CMD.NEW_SERVICE, service: web }])).rejects.toMatchObject({ code: 'EEXIST', errno: 17, op: 'ipvs.new_service' });
  });

  it('accepts every kernel scheduler', async () => {
    const svcs = IPVS_SCHEDULERS.map((scheduler, i) => tcp('10.97.0.1', 1000 + i, { scheduler }));
    await ipvs.apply(svcs.map((service) => ({ cmd: IPVS_CMD.NEW_SERVICE, service })));
    const got = new Map((await ipvs.services()).map((s) => [s.port, s.scheduler]));
    IPVS_SCHEDULERS.forEach((s, i) => expect(got.get(1000 + i)).toBe(s));
    await ipvs.apply(svcs.map((service) => ({ cmd: IPVS_CMD.DEL_SERVICE, service })));
  });

  it('counts traffic in 64-bit stats', async () => {
    // Local connects to a VIP on the dummy link: each SYN is scheduled (and counted) whether or not it is answered.
    const vip = tcp('10.1.2.3', 9);
    await ipvs.apply([
      { cmd: IPVS_CMD.NEW_SERVICE, service: vip },
      { cmd: IPVS_CMD.NEW_DEST, service: vip, dest: { address: '10.0.0.254', port: 9, fwd: 0, weight: 1 } },
    ]);
    await sh(['ip', 'netns', 'exec', ns, 'bash', '-c', 'for i in 1 2 3; do timeout 1 bash -c "exec 3<>/dev/tcp/10.1.2.3/9" 2>/dev/null; done; true']);
    const s = (await ipvs.services({ dests: true })).find((x) => x.address === '10.1.2.3')!;
    // UML is slow: a 1 s attempt may end before its SYN leaves, so at least one, not exactly three.
    expect(s.stats.conns).toBeGreaterThanOrEqual(1n);
    expect(s.stats.inPkts).toBeGreaterThanOrEqual(s.stats.conns);
    expect(s.dests![0]!.stats.conns).toBe(s.stats.conns);
    expect(s.dests![0]!.inactiveConns + s.dests![0]!.activeConns).toBeGreaterThanOrEqual(1);
  });

  it('gets and sets timeouts and sysctls, in this namespace only', async () => {
    const before = await ipvs.getTimeouts();
    expect(before.tcp).toBeGreaterThan(0);
    const after = await ipvs.setTimeouts({ tcp: 1234, tcpFin: 56, udp: 78 });
    expect(after).toEqual({ tcp: 1234, tcpFin: 56, udp: 78 });
    const rootConntrack = (await sh(['cat', '/proc/sys/net/ipv4/vs/conntrack'])).trim();
    const prev = await ipvs.sysctl({ conntrack: rootConntrack === '1' ? 0 : 1 });
    expect(prev.conntrack).toBe('0');
    expect((await sh(['ip', 'netns', 'exec', ns, 'cat', '/proc/sys/net/ipv4/vs/conntrack'])).trim()).toBe(rootConntrack === '1' ? '0' : '1');
    expect((await sh(['cat', '/proc/sys/net/ipv4/vs/conntrack'])).trim()).toBe(rootConntrack);
    expect(() => ipvs.sysctl({ '../../../kernel/hostname': 'x' })).toThrow(/bad sysctl name/);
  });

  it('rejects bad input before anything is sent', async () => {
    const before = (await ipvs.services()).length;
    await expect(ipvs.batch([{ cmd: IPVS_CMD.NEW_SERVICE, service: tcp('10.96.9.9', 80) }, { cmd: IPVS_CMD.NEW_SERVICE, service: tcp('not-an-ip', 80) }])).rejects.toThrow(
      /ops\[1\]\.service\.address: not an IP address/,
    );
    expect(await ipvs.services()).toHaveLength(before);
  });

  it('makes VIPs local with batched local routes of its own protocol, and deletes only those', async () => {
    const dev = { dev: 'd0', protocol: 0xa5 };
    const many = Array.from({ length: 3000 }, (_, i) => `10.200.${i >> 8}.${i & 255}`);
    // more than one rtnetlink window, both families; a replace of a route already there is no error
    expect(await ipvs.vipRoutes({ ...dev, add: [...many, 'fd00::10', '10.200.0.0'], del: [] })).toEqual({ errors: [] });
    const listed = await ipvs.vipList(dev);
    expect(listed.length).toBe(3001);
    expect(new Set(listed)).toEqual(new Set([...many, 'fd00::10']));
    expect(await sh(['ip', '-n', ns, 'route', 'get', '10.200.11.183'])).toMatch(/^local 10\.200\.11\.183 dev lo/);
    expect(await sh(['ip', '-n', ns, '-o', 'route', 'show', 'table', 'local', '10.200.0.5'])).toMatch(/^local 10\.200\.0\.5 dev d0 proto 165 scope host/);
    // a local route someone else made on the same device, same address family
    await sh(['ip', '-n', ns, 'route', 'add', 'local', '10.201.0.1/32', 'dev', 'd0', 'table', 'local', 'proto', 'static']);
    const res = await ipvs.vipRoutes({ ...dev, add: [], del: [...many, 'fd00::10', '10.201.0.1', '10.202.0.1'] });
    // the foreign one does not match our protocol, the last never existed: ESRCH for both, per index
    expect(res.errors.map((e) => [e.index, e.code])).toEqual([
      [3001, 'ESRCH'],
      [3002, 'ESRCH'],
    ]);
    expect(await ipvs.vipList(dev)).toEqual([]);
    expect(await sh(['ip', '-n', ns, '-o', 'route', 'show', 'table', 'local', '10.201.0.1'])).toMatch(/proto static/);
    await sh(['ip', '-n', ns, 'route', 'del', 'local', '10.201.0.1/32', 'dev', 'd0', 'table', 'local']);
    expect(() => ipvs.vipRoutes({ ...dev, add: ['10.0.0.300'], del: [] })).toThrow(/add\[0\]: not an IP address/);
    await expect(ipvs.vipList({ dev: 'nosuchdev', protocol: 0xa5 })).rejects.toMatchObject({ code: 'ENODEV' });
  });

  it('keeps one socket: calls on the JS thread and on the pool, concurrent or not, each get their own answer', async () => {
    // user generic-netlink sockets in the namespace (the kernel's own have port id 0)
    const sockets = async () =>
      (await sh(['ip', 'netns', 'exec', ns, 'cat', '/proc/net/netlink'])).split('\n').filter((l) => l.trim().split(/\s+/)[1] === '16' && l.trim().split(/\s+/)[2] !== '0').length;
    const svcs = Array.from({ length: 40 }, (_, i) => tcp(`10.97.0.${i + 1}`, 80));
    const dest = (i: number) => ({ address: `10.0.1.${i + 1}`, port: 8080, fwd: FORWARD_METHODS.masq, weight: 1 });
    await ipvs.apply(svcs.map((service) => ({ cmd: IPVS_CMD.NEW_SERVICE, service }) as const));
    expect(await sockets()).toBe(1);
    // 40 services or ops go to the pool, one runs inline; all at once on the same socket
    const [, many, one, missing, all] = await Promise.all([
      ipvs.apply(svcs.map((service, i) => ({ cmd: IPVS_CMD.NEW_DEST, service, dest: dest(i) }) as const)),
      ipvs.dests(svcs),
      ipvs.dests([svcs[7]!]),
      ipvs.dests([tcp('10.97.1.1', 80)]),
      ipvs.services(),
    ]);
    expect(many).toHaveLength(40);
    expect(one).toHaveLength(1);
    expect(missing).toEqual([null]);
    expect(all.filter((s) => s.address.startsWith('10.97.0.'))).toHaveLength(40);
    // the pool call may have run before or after the dest batch; afterwards every answer is whole
    const after = await ipvs.dests(svcs);
    expect(after.map((d) => d!.map((x) => x.address))).toEqual(svcs.map((_, i) => [dest(i).address]));
    expect((await ipvs.dests([svcs[7]!]))[0]!.map((x) => x.address)).toEqual(['10.0.1.8']);
    for (let i = 0; i < 30; i++) await ipvs.batch([{ cmd: IPVS_CMD.SET_DEST, service: svcs[0]!, dest: { ...dest(0), weight: 1 + (i % 2) } }]);
    expect(await sockets()).toBe(1);
    // closed, the next call opens a new socket in the same namespace
    await ipvs.close();
    expect(await sockets()).toBe(0);
    expect((await ipvs.dests([svcs[0]!]))[0]!.map((x) => x.weight)).toEqual([2]);
    await ipvs.apply(svcs.map((service) => ({ cmd: IPVS_CMD.DEL_SERVICE, service }) as const));
    expect((await ipvs.services()).filter((s) => s.address.startsWith('10.97.0.'))).toEqual([]);
  });

  it('says clearly when a namespace cannot be entered', async () => {
    await expect(new IpvsClient('svp-ipvsc-does-not-exist').info()).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
