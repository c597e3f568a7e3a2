import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { durationMs, loadAgentConfig, parseAgentConfig } from '../../src/agent/config.js';
import { SvcproxyError } from '../../src/errors.js';

const fieldOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SvcproxyError);
    expect((e as SvcproxyError).code).toBe('EINVAL');
    return (e as SvcproxyError).field;
  }
  throw new Error('expected an error');
};

describe('agent config', () => {
  it("has kube-proxy's defaults", () => {
    const c = parseAgentConfig({});
    expect(c).toMatchObject({ healthzBindAddress: '0.0.0.0:10256', metricsBindAddress: '127.0.0.1:10249', proxyMode: 'auto', masqueradeAll: false });
    expect(durationMs(c.minSyncPeriod)).toBe(1000);
    expect(durationMs(c.syncPeriod)).toBe(30_000);
  });

  it('names the bad field', () => {
    expect(fieldOf(() => parseAgentConfig({ proxyMode: 'userspace' }))).toBe('proxyMode');
    expect(fieldOf(() => parseAgentConfig({ clusterCIDR: '10.0.0.0' }))).toBe('clusterCIDR');
    expect(fieldOf(() => parseAgentConfig({ nodePortAddresses: ['10.0.0.0/8', 'x'] }))).toBe('nodePortAddresses[1]');
    expect(fieldOf(() => parseAgentConfig({ minSyncPeriod: 'soon' }))).toBe('minSyncPeriod');
    expect(() => parseAgentConfig({ masqueradAll: true })).toThrow(/unknown field "masqueradAll"/);
  });

  it('reads a YAML file with the same keys; flags win', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'svcproxy-agent-'));
    try {
      const file = join(dir, 'config.yaml');
      await writeFile(file, 'proxyMode: nftables\nclusterCIDR: 10.244.0.0/16\nhealthzBindAddress: 127.0.0.1:0\n');
      const c = await loadAgentConfig({ proxyMode: 'bpf', masqueradeAll: undefined }, file);
      expect(c).toMatchObject({ proxyMode: 'bpf', clusterCIDR: '10.244.0.0/16', healthzBindAddress: '127.0.0.1:0' });
      await writeFile(file, 'syncPeriod: 5\n');
      await expect(loadAgentConfig({}, file)).rejects.toThrow(/config\.yaml: syncPeriod: /);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
