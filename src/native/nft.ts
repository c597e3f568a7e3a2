/** Typed wrapper over the libnftables functions of the addon (native/nft.cc). */
import { native } from './binding.js';

/** An nft_ctx living in one network namespace (opaque). */
export type NftHandle = { readonly __nftHandle: unique symbol };

export interface NftAddon {
  /** create a libnftables context inside netns ("" = current); its netlink socket is bound there */
  nftOpen(netns: string): Promise<NftHandle>;
  /** run commands (text, or JSON when json=true: then output is JSON too) as one transaction */
  nftRun(handle: NftHandle, commands: string, json: boolean): Promise<string>;
  nftClose(handle: NftHandle): Promise<void>;
}

export const nftAddon = (): NftAddon => native() as unknown as NftAddon;
