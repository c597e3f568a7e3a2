/**
 * `svcproxy/testing`: what code built on svcproxy needs to unit-test
 * against an in-memory dataplane instead of the kernel. FakeDataplane runs
 * the same conformance suite as the real modes (test/conformance), so a
 * test that passes against it holds for iptables, nftables, ipvs and bpf.
 */
import { ServiceProxy } from '../api/proxy.js';
import { FakeDataplane, type FakeOptions } from '../dataplanes/fake/index.js';

export { FakeDataplane } from '../dataplanes/fake/index.js';
export type { FakeConnection, FakeOptions } from '../dataplanes/fake/index.js';

export interface FakeProxyOptions extends FakeOptions {
  /** this node's name, for traffic policy Local (default "fake-node") */
  nodeName?: string;
}

/** A ServiceProxy over a fresh FakeDataplane; both are returned so tests can connect() through the fake. */
export function fakeProxy(opts: FakeProxyOptions = {}): { proxy: ServiceProxy; dataplane: FakeDataplane } {
  const { nodeName = 'fake-node', ...fake } = opts;
  const dataplane = new FakeDataplane(fake);
  return { proxy: new ServiceProxy(dataplane, { nodeName }), dataplane };
}
