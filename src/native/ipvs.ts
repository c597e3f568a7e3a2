/**
 * Typed wrapper over the IPVS generic-netlink client (native/ipvs.cc).
 * Constants are those of linux/ip_vs.h (uapi order); names follow the kernel.
 */
import { native } from './binding.js';
import { SvcproxyError } from '../errors.js';
import type { Netns } from './netns.js';

/** IPVS_CMD_* (linux/ip_vs.h), the change commands used in batches. */
export const IPVS_CMD = {
  NEW_SERVICE: 1,
  SET_SERVICE: 2,
  DEL_SERVICE: 3,
  GET_SERVICE: 4,
  NEW_DEST: 5,
  SET_DEST: 6,
  DEL_DEST: 7,
  GET_DEST: 8,
} as const;
export type IpvsCmd = (typeof IPVS_CMD)[keyof typeof IPVS_CMD];

/** IP_VS_SVC_F_* virtual service flags (linux/ip_vs.h). */
export const IP_VS_SVC_F = {
  PERSISTENT: 0x0001,
  HASHED: 0x0002,
  ONEPACKET: 0x0004,
  SCHED1: 0x0008,
  SCHED2: 0x0010,
  SCHED3: 0x0020,
} as const;

/** IP_VS_CONN_F_* forwarding methods (IP_VS_CONN_F_FWD_MASK bits, linux/ip_vs.h). */
export const IP_VS_CONN_F = {
  MASQ: 0x0000,
  LOCALNODE: 0x0001,
  TUNNEL: 0x0002,
  DROUTE: 0x0003,
  BYPASS: 0x0004,
} as const;
export type ForwardMethod = 'masq' | 'tunnel' | 'droute';
export const FORWARD_METHODS: Record<ForwardMethod, number> = {
  masq: IP_VS_CONN_F.MASQ,
  tunnel: IP_VS_CONN_F.TUNNEL,
  droute: IP_VS_CONN_F.DROUTE,
};

/** IPPROTO_* numbers (netinet/in.h). */
export const IPPROTO = { TCP: 6, UDP: 17, SCTP: 132 } as const;
export type IpvsProtocol = keyof typeof IPPROTO;
export const protocolName = (n: number): IpvsProtocol | undefined =>
  (Object.keys(IPPROTO) as IpvsProtocol[]).find((k) => IPPROTO[k] === n);

/** The schedulers the kernel ships (net/netfilter/ipvs/ip_vs_<name>.c). */
export const IPVS_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'mh', 'fo', 'ovf'] as const;
export type IpvsScheduler = (typeof IPVS_SCHEDULERS)[number];

/** A virtual service's identity and options, as the kernel holds them. */
export interface IpvsServiceSpec {
  family: 4 | 6;
  /** IPPROTO number; ignored for fwmark services */
  protocol: number;
  /** "" for a fwmark service */
  address: string;
  port: number;
  /** nonzero: a firewall-mark service */
  fwmark?: number;
  scheduler?: string;
  /** IP_VS_SVC_F_* */
  flags?: number;
  /** persistence timeout in seconds (with IP_VS_SVC_F.PERSISTENT) */
  timeout?: number;
  /** persistence netmask: v4 as a 32-bit number, v6 as a prefix length */
  netmask?: number;
}

export interface IpvsDestSpec {
  address: string;
  family?: 4 | 6;
  port: number;
  /** IP_VS_CONN_F.MASQ / TUNNEL / DROUTE */
  fwd: number;
  weight: number;
  upperThreshold?: number;
  lowerThreshold?: number;
}

/** IPVS_STATS_ATTR_* of the 64-bit set (STATS64), exact as bigint. */
export interface IpvsStats {
  conns: bigint;
  inPkts: bigint;
  outPkts: bigint;
  inBytes: bigint;
  outBytes: bigint;
  cps: bigint;
  inPps: bigint;
  outPps: bigint;
  inBps: bigint;
  outBps: bigint;
}

export interface IpvsDest extends Required<IpvsDestSpec> {
  activeConns: number;
  inactiveConns: number;
  persistConns: number;
  stats: IpvsStats;
}

export interface IpvsService extends Required<IpvsServiceSpec> {
  peName: string;
  stats: IpvsStats;
  /** present when dumped with dests */
  dests?: IpvsDest[];
}

export type IpvsOp =
  | { cmd: typeof IPVS_CMD.NEW_SERVICE | typeof IPVS_CMD.SET_SERVICE | typeof IPVS_CMD.DEL_SERVICE; service: IpvsServiceSpec }
  | { cmd: typeof IPVS_CMD.NEW_DEST | typeof IPVS_CMD.SET_DEST | typeof IPVS_CMD.DEL_DEST; service: IpvsServiceSpec; dest: IpvsDestSpec };

export interface IpvsOpError {
  index: number;
  errno: number;
  code: string;
}

export interface IpvsTimeouts {
  tcp: number;
  tcpFin: number;
  udp: number;
}

export interface IpvsInfo {
  versionCode: number;
  version: string;
  connTabSize: number;
}

/** An open IPVS socket inside one namespace (native/ipvs/session.h). */
type Session = { readonly __ipvsSession: unique symbol };

interface IpvsAddon {
  ipvsOpen(o: { netns?: Netns }): Promise<Session>;
  ipvsClose(o: { session: Session }): Promise<void>;
  ipvsInfo(o: { session: Session }): Promise<IpvsInfo>;
  ipvsDump(o: { session: Session; dests?: boolean }): Promise<IpvsService[]>;
  ipvsDests(o: { session: Session; services: IpvsServiceSpec[]; inline: boolean }): Promise<(IpvsDest[] | null)[]>;
  ipvsBatch(o: { session: Session; ops: IpvsOp[]; inline: boolean }): Promise<{ sent: number; errors: IpvsOpError[] }>;
  ipvsGetTimeouts(o: { session: Session }): Promise<IpvsTimeouts>;
  ipvsSetTimeouts(o: { session: Session } & Partial<IpvsTimeouts>): Promise<IpvsTimeouts>;
  ipvsSysctl(o: { netns?: Netns; set: Record<string, string | number> }): Promise<Record<string, string>>;
  ipvsVipRoutes(o: { netns?: Netns; dev: string; protocol: number; add: string[]; del: string[] }): Promise<{ errors: IpvsOpError[] }>;
  ipvsVipList(o: { netns?: Netns; dev: string; protocol: number }): Promise<string[]>;
}

const addon = () => native() as unknown as IpvsAddon;

/**
 * Up to this many services or ops a call runs on the JS thread: a one-endpoint
 * change is a few syscalls, and the thread-pool hand-off cost more than that
 * (about 1 ms inside UML). Bigger calls go to the pool and leave the loop free.
 */
const INLINE_MAX = 32;

/**
 * One IPVS socket inside `netns` (a handle; '' = the current namespace), opened on
 * first use and kept: it stays in the namespace it was opened in, so close()
 * it when done with that namespace (a closed client reopens on next use).
 */
export class IpvsClient {
  private session?: Promise<Session>;

  constructor(readonly netns: Netns = '') {}

  private open(): Promise<Session> {
    // A failed open (no IPVS, no such namespace) is not kept: the next call tries again.
    this.session ??= addon().ipvsOpen({ netns: this.netns }).catch((e: unknown) => {
      this.session = undefined;
      throw e;
    });
    return this.session;
  }

  async close(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    const session = await s?.catch(() => undefined);
    if (session) await addon().ipvsClose({ session });
  }

  /** IPVS version; rejects with code ENOIPVS when the kernel has none. */
  async info(): Promise<IpvsInfo> {
    return addon().ipvsInfo({ session: await this.open() });
  }

  /** Every virtual service in the namespace, with dests when asked (one dump per service). */
  async services(opts: { dests?: boolean } = {}): Promise<IpvsService[]> {
    return addon().ipvsDump({ session: await this.open(), dests: opts.dests ?? false });
  }

  /** The dests of the given services, in one call; null for a service that does not exist. */
  async dests(services: IpvsServiceSpec[]): Promise<(IpvsDest[] | null)[]> {
    return addon().ipvsDests({ session: await this.open(), services, inline: services.length <= INLINE_MAX });
  }

  /** Send every op in windows of many messages per syscall; per-op errnos come back, nothing throws for them. */
  async batch(ops: IpvsOp[]): Promise<{ sent: number; errors: IpvsOpError[] }> {
    if (ops.length === 0) return { sent: 0, errors: [] };
    return addon().ipvsBatch({ session: await this.open(), ops, inline: ops.length <= INLINE_MAX });
  }

  /** Like batch(), but rejects with the first failure (as SvcproxyError carrying its errno). */
  async apply(ops: IpvsOp[], opts: { tolerate?: (op: IpvsOp, code: string) => boolean } = {}): Promise<number> {
    const res = await this.batch(ops);
    const bad = res.errors.filter((e) => !opts.tolerate?.(ops[e.index]!, e.code));
    if (bad.length > 0) {
      const e = bad[0]!;
      throw new SvcproxyError(`ipvs: ${describeOp(ops[e.index]!)} failed: ${e.code}${bad.length > 1 ? ` (and ${bad.length - 1} more)` : ''}`, {
        code: e.code,
        errno: e.errno,
        op: `ipvs.${opName(ops[e.index]!.cmd)}`,
        mode: 'ipvs',
      });
    }
    return res.sent;
  }

  async getTimeouts(): Promise<IpvsTimeouts> {
    return addon().ipvsGetTimeouts({ session: await this.open() });
  }

  /** 0 leaves a timeout unchanged. Returns the timeouts now in force. */
  async setTimeouts(t: Partial<IpvsTimeouts>): Promise<IpvsTimeouts> {
    return addon().ipvsSetTimeouts({ session: await this.open(), ...t });
  }

  /**
   * Local host routes (RTN_LOCAL, table local) on `dev` with rtm_protocol
   * `protocol`, the way IPVS mode makes VIPs local: `del` then `add`
   * (create or replace), in rtnetlink batches. Per-route errnos come back
   * (index: del first, then add); nothing throws for them.
   */
  vipRoutes(o: { dev: string; protocol: number; add: string[]; del: string[] }): Promise<{ errors: IpvsOpError[] }> {
    if (o.add.length + o.del.length === 0) return Promise.resolve({ errors: [] });
    return addon().ipvsVipRoutes({ netns: this.netns, ...o });
  }

  /** The addresses of those routes on `dev` (both families). */
  vipList(o: { dev: string; protocol: number }): Promise<string[]> {
    return addon().ipvsVipList({ netns: this.netns, ...o });
  }

  /** Write net.ipv4.vs.<name> in this namespace only; returns the previous values. */
  sysctl(set: Record<string, string | number>): Promise<Record<string, string>> {
    return addon().ipvsSysctl({ netns: this.netns, set });
  }
}

const opName = (cmd: number) => Object.entries(IPVS_CMD).find(([, v]) => v === cmd)?.[0]?.toLowerCase() ?? String(cmd);

export function describeService(s: IpvsServiceSpec): string {
  if (s.fwmark) return `FWM ${s.fwmark}`;
  const host = s.family === 6 ? `[${s.address}]` : s.address;
  return `${protocolName(s.protocol) ?? s.protocol} ${host}:${s.port}`;
}

export function describeOp(op: IpvsOp): string {
  const d = 'dest' in op ? ` -> ${op.dest.address}:${op.dest.port}` : '';
  return `${opName(op.cmd)} ${describeService(op.service)}${d}`;
}
