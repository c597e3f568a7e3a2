/**
 * An in-memory dataplane for unit tests of code built on svcproxy. It keeps
 * the programmed state like a kernel would and answers connection attempts
 * with the same semantics as the real modes (random pick, ClientIP
 * affinity, reject without endpoints, drop without local ones, masquerade
 * of external traffic), so it runs the same conformance suite.
 */
import { SvcproxyError } from '../../errors.js';
import type { Backend, Plan, ServicePortState } from '../../plan/types.js';
import { describePort } from '../../plan/render.js';
import type { ApplyStats, Capability, Dataplane } from '../types.js';
import { traitsOf } from '../traits.js';

export interface FakeConnection {
  /** the endpoint chosen, or the error a real client would see */
  backend?: Backend;
  error?: 'ECONNREFUSED' | 'ETIMEDOUT';
  /** the source address the endpoint sees */
  peer?: string;
}

export interface FakeOptions {
  /** addresses that are this node's own (node ports answer there) */
  nodeAddresses?: string[];
  /** fail the next apply with this error, to test error paths */
  failNextApply?: SvcproxyError;
  random?: () => number;
  now?: () => number;
}

export class FakeDataplane implements Dataplane {
  readonly mode = 'fake' as const;
  private state = new Map<string, ServicePortState>();
  /** objects someone else owns in the "kernel": they must survive cleanup */
  readonly foreign = new Set<string>();
  private affinity = new Map<string, { backend: Backend; at: number }>();
  applies = 0;

  constructor(private readonly opts: FakeOptions = {}) {}

  async detect(): Promise<Capability> {
    return { mode: 'fake', usable: true, versions: { fake: '1' }, traits: traitsOf('fake'), families: [4, 6] };
  }

  async read(): Promise<ServicePortState[]> {
    return [...this.state.values()].map((s) => structuredClone(s)).sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  render(plan: Plan): string {
    return plan.desired.map(describePort).join('\n');
  }

  async apply(plan: Plan): Promise<ApplyStats> {
    if (this.opts.failNextApply) {
      const e = this.opts.failNextApply;
      this.opts.failNextApply = undefined;
      throw e; // atomic: nothing changed
    }
    const next = new Map(this.state);
    for (const s of plan.changes.removed) next.delete(s.key);
    for (const s of [...plan.changes.added, ...plan.changes.changed.map((c) => c.after)]) next.set(s.key, structuredClone(s));
    this.state = next;
    this.applies++;
    return { written: plan.changes.added.length + plan.changes.changed.length, removed: plan.changes.removed.length, kernelMs: 0 };
  }

  async cleanup(): Promise<void> {
    this.state.clear();
    this.affinity.clear();
  }

  async close(): Promise<void> {}

  /** What a new connection from `client` to host:port/proto would reach. */
  connect(client: string, host: string, port: number, proto: string): FakeConnection {
    const local = this.opts.nodeAddresses ?? [];
    for (const s of this.state.values()) {
      if (s.protocol !== proto) continue;
      const internal = s.clusterIP === host && s.port === port;
      const external =
        (s.port === port && (s.externalIPs.includes(host) || s.loadBalancerIPs.includes(host))) ||
        (s.nodePort === port && local.includes(host));
      if (!internal && !external) continue;
      const list = internal ? s.internal : s.external;
      if (list.length === 0) return { error: s.hasEndpoints ? 'ETIMEDOUT' : 'ECONNREFUSED' };
      const peer = external && !s.externalLocal ? local[0] ?? client : client;
      return { backend: this.pick(s, list, client), peer };
    }
    return { error: 'ETIMEDOUT' }; // no frontend: the packet leaves by the default route and is lost
  }

  private pick(s: ServicePortState, list: Backend[], client: string): Backend {
    const now = (this.opts.now ?? Date.now)();
    const k = `${s.key}|${client}`;
    const held = this.affinity.get(k);
    const live = (b: Backend) => list.some((x) => x.address === b.address && x.port === b.port);
    if (s.affinitySeconds !== null && held && now - held.at < s.affinitySeconds * 1000 && live(held.backend)) {
      held.at = now;
      return held.backend;
    }
    const backend = list[Math.floor((this.opts.random ?? Math.random)() * list.length)]!;
    if (s.affinitySeconds !== null) this.affinity.set(k, { backend, at: now });
    return backend;
  }
}
