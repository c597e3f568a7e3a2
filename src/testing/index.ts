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

// The conformance suite: the same checks svcproxy runs against every mode and the fake, for a user's own
// Dataplane (or the fake). It needs vitest, an optional peer dependency: loaded here only if installed, so
// FakeDataplane and fakeProxy import without it.
type Suite = typeof import('./conformance/suite.js');
let suite: Suite | undefined;
let suiteError: unknown;
try {
  suite = await import('./conformance/suite.js');
} catch (e) {
  suiteError = e;
}

export type { Features, Target, TargetIPv6 } from './conformance/target.js';
export { ALL_FEATURES } from './conformance/target.js';
export { fakeTarget } from './conformance/fake.js';

/** Define the conformance suite (vitest describe/it) against the Target makeTarget returns; features: what it supports. */
export function describeConformance(...args: Parameters<Suite['describeConformance']>): void {
  if (!suite) {
    const why = suiteError instanceof Error ? suiteError.message.split('\n')[0] : String(suiteError);
    throw new Error(`describeConformance needs vitest (an optional peer dependency of svcproxy): npm install --save-dev vitest (${why})`);
  }
  suite.describeConformance(...args);
}
