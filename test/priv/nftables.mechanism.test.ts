/** The mechanism conformance suite against the addon, each case in a fresh network namespace. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { addonMechanism } from '../../src/dataplanes/nftables/mechanism.js';
import { describeNftMechanism } from '../conformance/nft-mechanism.js';

describeNftMechanism('addon (host kernel, fresh netns)', async () => {
  const ns = `svp-nftm-${process.pid}-${randomBytes(3).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', ns]);
  const mech = addonMechanism({ netns: ns });
  return {
    mech,
    destroy: async () => {
      try {
        await mech.close();
      } finally {
        execFileSync('ip', ['netns', 'del', ns]);
      }
    },
  };
});
