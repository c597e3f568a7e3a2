// Bulk set/map element writes for nftables mode: a packed buffer from
// TypeScript -> one nf_tables netlink batch (NFNL_MSG_BATCH_BEGIN ..
// NEWSETELEM / DELSETELEM .. NFNL_MSG_BATCH_END), sent in one sendmsg, so
// the kernel applies all of it or none of it (nf_tables aborts the whole
// batch on the first error). libnftables would parse and evaluate every
// element as text (~12 us each); this path costs a memcpy per element.
//
// Packed input: the format of nft/packed.h (its one definition, shared with
// src/dataplanes/nftables/encode.ts).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "../error.h"

struct mnl_socket;

namespace svcproxy {
namespace nft {

struct ElementBatchResult {
  uint32_t messages = 0;
  uint32_t elements = 0;
};

// A NETLINK_NETFILTER socket for batches, opened in the calling thread's
// network namespace (callers hold a NetnsGuard). Kept open per context:
// closing a netfilter socket after a batch that deleted elements blocks for
// an RCU grace period (5-15 ms measured on 6.18), more than the batch itself.
struct mnl_socket* OpenBatchSocket(NativeError* err);
void CloseBatchSocket(struct mnl_socket* nl);

// Parse `packed`, build the batch, send it on `nl` and collect the kernel's
// verdict. On failure err is set (errno name as code) and the kernel is
// unchanged. `seq` is advanced past the sequence numbers used.
void SendElementBatch(struct mnl_socket* nl, uint32_t* seq, const std::vector<uint8_t>& packed, ElementBatchResult* out,
                      NativeError* err);

}  // namespace nft
}  // namespace svcproxy
