/** The mechanism conformance suite against the addon, each case in a fresh network namespace. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { addonMechanism } from '../../src/dataplanes/nftables/mechanism.js';
import { SvcproxyError } from '../../src/errors.js';
import { nftAddon } from '../../src/native/nft.js';
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

describe('nft bindings: one options object, missing fields named', () => {
  it('rejects a call without a handle or with a mistyped field, naming the field', async () => {
    const nft = nftAddon() as unknown as Record<string, (o?: unknown) => unknown>;
    expect(() => nft.nftRun!({ commands: 'list chains' })).toThrow(/nftRun: handle:/);
    const ns = `svp-nftb-${process.pid}-${randomBytes(3).toString('hex')}`;
    execFileSync('ip', ['netns', 'add', ns]);
    const handle = await nftAddon().nftOpen({ netns: ns });
    try {
      expect(() => nft.nftRun!({ handle, commands: 1 })).toThrow(/nftRun: commands:/);
      expect(() => nft.nftElements!({ handle, packed: 'x' })).toThrow(/nftElements: packed:/);
      expect(() => nft.nftDumpSet!({ handle, family: 5, table: 't', set: 's' })).toThrow(/nftDumpSet: family:/);
      const err = (() => {
        try {
          nft.nftClose!({});
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(SvcproxyError);
      expect((err as SvcproxyError).code).toBe('EINVAL');
    } finally {
      await nftAddon().nftClose({ handle });
      execFileSync('ip', ['netns', 'del', ns]);
    }
  });
});
