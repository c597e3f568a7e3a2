/* The packed element format between TypeScript and the addon, defined once
 * here: src/dataplanes/nftables/packed.ts mirrors these values and
 * test/unit/nftables.packed.test.ts compiles this header to check they agree
 * (as bpf/svcproxy.h is shared with src/dataplanes/bpf/layout.ts).
 *
 * Written by encode.ts, read by nft/elements.cc (one netlink batch); written
 * by nft/dump.cc (a set's dump), read by decode.ts. All counts little-endian;
 * key/value bytes are the kernel's register layout.
 *
 *   batch := op*                                   (encode.ts -> elements.cc)
 *   op    := u8 verb (SVP_NFT_VERB_*)  u8 nfproto (NFPROTO_IPV4 | NFPROTO_IPV6)
 *            u8 tableLen, table   u8 setLen, set   u32 count   elem*count
 *   dump  := elem*                                 (dump.cc -> decode.ts)
 *   elem  := u8 keyLen, key
 *            u8 dataKind: SVP_NFT_DATA_NONE
 *                       | SVP_NFT_DATA_VALUE: u8 len, value
 *                       | SVP_NFT_DATA_VERDICT: i32 code (NF_DROP, NFT_GOTO ...), u8 chainLen, chain
 *            u8 commentLen, comment   (0: no comment; no trailing NUL)
 */
#pragma once

#define SVP_NFT_VERB_ADD 0    /* NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL */
#define SVP_NFT_VERB_DELETE 1 /* NFT_MSG_DELSETELEM */

#define SVP_NFT_DATA_NONE 0
#define SVP_NFT_DATA_VALUE 1
#define SVP_NFT_DATA_VERDICT 2

#define SVP_NFT_COUNT_SIZE 4        /* u32 count of an op */
#define SVP_NFT_VERDICT_CODE_SIZE 4 /* i32 verdict code */
#define SVP_NFT_MAX_FIELD 255       /* every length is one byte */
