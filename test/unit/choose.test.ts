import { describe, expect, it } from 'vitest';
import { recommend } from '../../src/api/choose.js';
import { traitsOf } from '../../src/dataplanes/traits.js';
import type { Capability, Mode } from '../../src/dataplanes/types.js';

const caps = (usable: Mode[]): Capability[] =>
  (['iptables', 'nftables', 'ipvs', 'bpf'] as Mode[]).map((mode) => ({ mode, usable: usable.includes(mode), reason: usable.includes(mode) ? undefined : 'missing', versions: {}, traits: traitsOf(mode), families: [4] }));

describe('recommend (ranked by mode traits)', () => {
  it('prefers nftables, then ipvs, then iptables', () => {
    expect(recommend(caps(['iptables', 'nftables', 'ipvs', 'bpf'])).mode).toBe('nftables');
    expect(recommend(caps(['iptables', 'ipvs', 'bpf'])).mode).toBe('ipvs');
    expect(recommend(caps(['iptables', 'bpf']), { services: 10 })).toEqual({ mode: 'iptables', why: 'the only usable NAT mode here (every new connection walks up to 10 service rules)' });
  });
  it('chooses bpf only when a cgroup is given', () => {
    expect(recommend(caps(['nftables', 'bpf']), { cgroup: '/sys/fs/cgroup/x' }).mode).toBe('bpf');
    expect(recommend(caps(['nftables', 'bpf'])).mode).toBe('nftables');
    expect(() => recommend(caps(['bpf']))).toThrow(/no usable mode here/);
  });
});
