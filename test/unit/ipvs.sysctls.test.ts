import { describe, expect, it } from 'vitest';
import { ipvsSysctls, kernelAtLeast } from '../../src/dataplanes/ipvs/sysctls.js';

describe('IPVS sysctls', () => {
  it('leaves conn_reuse_mode alone from Linux 5.9 on (kubernetes #102122), sets it to 0 before', () => {
    expect(ipvsSysctls('6.1.176')).not.toHaveProperty('conn_reuse_mode');
    expect(ipvsSysctls('5.9.0-1-amd64')).not.toHaveProperty('conn_reuse_mode');
    expect(ipvsSysctls('5.8.18')).toMatchObject({ conn_reuse_mode: 0 });
    expect(ipvsSysctls('4.19.0')).toMatchObject({ conn_reuse_mode: 0, conntrack: 1, expire_nodest_conn: 1, expire_quiescent_template: 1 });
  });
  it('compares major and minor as numbers', () => {
    expect(kernelAtLeast('5.10.1', 5, 9)).toBe(true);
    expect(kernelAtLeast('10.0', 5, 9)).toBe(true);
    expect(kernelAtLeast('garbage', 5, 9)).toBe(false);
  });
});
