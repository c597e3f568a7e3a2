/** detect() on this kernel: IPVS present (reports its version) or absent (says why, ENOIPVS). */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createIpvsDataplane } from '../../src/dataplanes/ipvs/index.js';
import { IpvsClient } from '../../src/native/ipvs.js';

describe('ipvs detect', () => {
  const hasIpvs = existsSync('/proc/net/ip_vs');
  it(hasIpvs ? 'reports the IPVS version of this kernel' : 'explains that this kernel has no IPVS', async () => {
    const cap = await createIpvsDataplane({}).detect();
    if (hasIpvs) {
      expect(cap.versions.ipvs).toMatch(/^1\.2\./);
    } else {
      expect(cap.usable).toBe(false);
      expect(cap.reason).toMatch(/this kernel has no IPVS.*CONFIG_IP_VS.*modprobe ip_vs/);
      await expect(new IpvsClient().info()).rejects.toMatchObject({ code: 'ENOIPVS', op: 'ipvs.resolve' });
    }
  });

  it('refuses an unknown scheduler naming the field', () => {
    expect(() => createIpvsDataplane({ scheduler: 'nope' } as never)).toThrow(/scheduler: unknown IPVS scheduler "nope"/);
  });
});
