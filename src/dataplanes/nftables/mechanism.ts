/**
 * Everything the nftables dataplane asks of the kernel, as one small
 * interface (the way knftables has one Interface and a fake of it): run
 * libnftables commands, write a packed element batch, dump a set's elements.
 * addonMechanism() is the real one over the addon; fake/ holds an in-memory
 * one for unit tests, and test/conformance/nft-mechanism.ts runs the same
 * cases against both so the fake cannot drift.
 */
import type { Netns } from '../../native/netns.js';
import type { NftDump, NftElementsResult, NftHandle } from '../../native/nft.js';
import { nftAddon } from '../../native/nft.js';
import type { Family } from '../../plan/types.js';

export type { NftDump, NftElementsResult } from '../../native/nft.js';

export interface NftMechanism {
  /**
   * Commands as one transaction, all or nothing; a refusal rejects with
   * SvcproxyError code ENFTABLES (libnftables does not give the errno).
   * json: the answer is JSON (what svcproxy lists: `list chains`).
   */
  run(o: { commands: string; json?: boolean }): Promise<string>;
  /** Packed element ops (native/nft/packed.h `batch`) as one nf_tables batch: all or nothing, errors carry the errno name. */
  elements(o: { packed: Uint8Array }): Promise<NftElementsResult>;
  /** One set's elements, packed as native/nft/packed.h `dump` (decode.ts reads it). */
  dumpSet(o: { family: Family; table: string; set: string }): Promise<NftDump>;
  close(): Promise<void>;
}

/** The kernel through the addon: one libnftables context, opened in `netns` on first use. */
class AddonMechanism implements NftMechanism {
  private handle?: Promise<NftHandle>;

  constructor(private readonly netns: Netns) {}

  private open(): Promise<NftHandle> {
    this.handle ??= nftAddon().nftOpen({ netns: this.netns });
    return this.handle;
  }

  async run(o: { commands: string; json?: boolean }): Promise<string> {
    return nftAddon().nftRun({ handle: await this.open(), commands: o.commands, json: o.json ?? false });
  }

  async elements(o: { packed: Uint8Array }): Promise<NftElementsResult> {
    return nftAddon().nftElements({ handle: await this.open(), packed: o.packed });
  }

  async dumpSet(o: { family: Family; table: string; set: string }): Promise<NftDump> {
    return nftAddon().nftDumpSet({ handle: await this.open(), ...o });
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    if (h) await h.then((handle) => nftAddon().nftClose({ handle }), () => undefined);
  }
}

/** netns: the namespace every call works in ("" or absent: the caller's). */
export function addonMechanism(o: { netns?: Netns }): NftMechanism {
  return new AddonMechanism(o.netns ?? '');
}
