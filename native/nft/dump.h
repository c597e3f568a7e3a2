// Reading a set's elements back over raw netlink (NFT_MSG_GETSETELEM dump):
// read() after a restart needs every element of svcproxy's maps, and
// libnftables' JSON listing of 270k elements took ~15 s at 30k services;
// the dump and a memcpy per element take a fraction of that.
//
// Output: `dump` of nft/packed.h (elem*, one after another), read by
// src/dataplanes/nftables/decode.ts.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "../error.h"

namespace svcproxy {
namespace nft {

// Dump `set` of `table` (family NFPROTO_IPV4 / NFPROTO_IPV6) in the calling
// thread's network namespace (callers hold a NetnsGuard).
void DumpSetElements(uint8_t family, const std::string& table, const std::string& set, std::vector<uint8_t>* out,
                     uint32_t* count, NativeError* err);

}  // namespace nft
}  // namespace svcproxy
