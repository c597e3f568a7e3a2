/** Typed wrapper over the libnftables functions of the addon (native/nft.cc); every call takes one options object. */
import { native } from './binding.js';
import type { Netns } from './netns.js';

/** An nft_ctx living in one network namespace (opaque). */
export type NftHandle = { readonly __nftHandle: unique symbol };

export interface NftElementsResult {
  /** netlink messages in the batch (besides BATCH_BEGIN/END) */
  messages: number;
  elements: number;
}

export interface NftDump {
  count: number;
  data: Buffer;
}

export interface NftAddon {
  /** create a libnftables context inside netns ("" or absent = current); its netlink socket is bound there */
  nftOpen(o: { netns?: Netns }): Promise<NftHandle>;
  /** run commands (text, or JSON when json: then output is JSON too) as one transaction */
  nftRun(o: { handle: NftHandle; commands: string; json?: boolean }): Promise<string>;
  /**
   * add/delete set and map elements given packed (layout: native/nft/packed.h) as one
   * nf_tables batch in the handle's namespace: all or nothing; errors carry the errno name
   */
  nftElements(o: { handle: NftHandle; packed: Uint8Array }): Promise<NftElementsResult>;
  /** a set's elements over raw netlink, packed as native/nft/packed.h `dump` (decoded by nftables/decode.ts) */
  nftDumpSet(o: { handle: NftHandle; family: 4 | 6; table: string; set: string }): Promise<NftDump>;
  nftClose(o: { handle: NftHandle }): Promise<void>;
}

export const nftAddon = (): NftAddon => native() as unknown as NftAddon;
