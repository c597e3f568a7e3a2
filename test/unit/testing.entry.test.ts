/** `svcproxy/testing` reaches FakeDataplane through the package exports, and a fake proxy forwards like the suite says. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseServices } from '../../src/model/load.js';
import { fakeProxy, FakeDataplane } from '../../src/testing/index.js';
// as a user's test imports it: through package.json "exports" (dist/, built by tsc)
import * as testing from 'svcproxy/testing';

// the fake through the suite exported to users, as their own Dataplane would run it
testing.describeConformance('fake through svcproxy/testing', testing.fakeTarget, { undefinedPorts: false });

describe('svcproxy/testing', () => {
  it('is exported by package.json with types', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, { types: string; import: string }> };
    expect(pkg.exports['./testing']).toEqual({ types: './dist/testing/index.d.ts', import: './dist/testing/index.js' });
  });

  it('exports the conformance runner and the fake target', () => {
    expect(typeof testing.describeConformance).toBe('function');
    expect(typeof testing.fakeTarget).toBe('function');
    expect(testing.ALL_FEATURES.udp).toBe(true);
  });

  it('keeps vitest out of the main entry', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { peerDependenciesMeta: Record<string, { optional: boolean }> };
    expect(pkg.peerDependenciesMeta.vitest).toEqual({ optional: true });
    expect(readFileSync('src/index.ts', 'utf8')).not.toMatch(/testing|vitest/);
  });

  it('fakeProxy applies a service and connect() lands on its endpoint', async () => {
    const { proxy, dataplane } = fakeProxy();
    expect(dataplane).toBeInstanceOf(FakeDataplane);
    const set = parseServices(
      JSON.stringify({
        services: [{ name: 'web', namespace: 'app', clusterIP: '10.96.0.10', ports: [{ port: 80, targetPort: 8080 }], endpoints: [{ address: '10.244.0.10' }] }],
      }),
    );
    await proxy.apply(set);
    const c = dataplane.connect('10.250.0.2', '10.96.0.10', 80, 'TCP');
    expect(c.backend).toMatchObject({ address: '10.244.0.10', port: 8080 });
    expect(dataplane.connect('10.250.0.2', '10.96.0.10', 81, 'TCP').backend).toBeUndefined();
    await proxy.close();
  });
});

describe('native loader hint', () => {
  it('names the apt package of a missing shared library', async () => {
    const { fixHint } = await import('../../src/native/binding.js');
    expect(fixHint('libnftables.so.1: cannot open shared object file')).toBe('Fix: apt-get install libnftables1');
    expect(fixHint('libbpf.so.1: cannot open shared object file')).toBe('Fix: apt-get install libbpf1');
    expect(fixHint('No native build was found')).toContain('libmnl-dev libnftables-dev libbpf-dev');
  });
});
