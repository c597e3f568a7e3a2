/**
 * The packed element format shared with the addon; its one definition is
 * native/nft/packed.h (layout drawn there). These values mirror it and
 * test/unit/nftables.packed.test.ts checks them against the compiled header.
 */
export const VERB = { add: 0, delete: 1 } as const;
export const DATA_NONE = 0;
export const DATA_VALUE = 1;
export const DATA_VERDICT = 2;
export const COUNT_SIZE = 4;
export const VERDICT_CODE_SIZE = 4;
export const MAX_FIELD = 255;

// Kernel constants the format carries: uapi linux/netfilter.h NFPROTO_*, NF_DROP; nf_tables.h NFT_JUMP / NFT_GOTO
export const NFPROTO_IPV4 = 2;
export const NFPROTO_IPV6 = 10;
export const NF_DROP = 0;
export const NFT_JUMP = -3;
export const NFT_GOTO = -4;
