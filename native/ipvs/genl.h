// Netlink sockets with batched requests: many messages go out in one
// sendmsg and only failures and each window's last message are acked, so a
// sync of tens of thousands of operations costs a few hundred syscalls, not
// one or two per op. GenlSocket is bound to the IPVS family (linux/ip_vs.h,
// IPVS_GENL_NAME "IPVS"); a plain NetlinkSocket carries the VIP routes
// (NETLINK_ROUTE) and the hairpin ipset (NETLINK_NETFILTER, native/ipset.cc).
#pragma once
#include <libmnl/libmnl.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "../error.h"

namespace svcproxy::ipvs {

// One request already encoded (nlmsghdr + genlmsghdr + attributes).
using Message = std::vector<char>;

// Result of one request of a batch: 0 or a positive errno.
struct Ack {
  int err = 0;
};

class NetlinkSocket {
 public:
  // Opens and binds a netlink socket of `protocol` in the calling thread's namespace.
  NetlinkSocket(int protocol, NativeError* err);
  ~NetlinkSocket();
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;
  bool bound() const { return sock_ != nullptr && portid_ != 0; }
  // A send or receive failed: replies may be left half read, do not reuse.
  bool broken() const { return broken_; }
  uint32_t NextSeq() { return seq_++; }

  // Send all messages, windowed; acks[i] gets message i's result (0, or the errno the kernel acked).
  // A transport failure (not a per-message errno) sets err and returns false.
  bool Batch(const std::vector<Message>& msgs, std::vector<Ack>* acks, NativeError* err);

  // One request with NLM_F_DUMP (or a plain get); cb runs for each reply.
  bool Dump(const Message& req, const std::function<void(const struct nlmsghdr*)>& cb, NativeError* err);

 protected:
  struct mnl_socket* sock_ = nullptr;
  uint32_t portid_ = 0;
  uint32_t seq_ = 1;
  bool broken_ = false;
};

class GenlSocket : public NetlinkSocket {
 public:
  // Opens a NETLINK_GENERIC socket in the calling thread's namespace and
  // resolves the IPVS family. ENOIPVS when the family does not exist.
  explicit GenlSocket(NativeError* err);
  bool ok() const { return bound() && family_ != 0; }
  uint16_t family() const { return family_; }

  // Start a message: nlmsghdr(type = IPVS family) + genlmsghdr(cmd).
  // Returns the header to add attributes to; buf must hold MNL_SOCKET_BUFFER_SIZE.
  struct nlmsghdr* Begin(char* buf, uint8_t cmd, uint16_t flags);

 private:
  bool Resolve(NativeError* err);
  uint16_t family_ = 0;
};

}  // namespace svcproxy::ipvs
