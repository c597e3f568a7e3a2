// See elements.h. Netlink layout of one element message (uapi
// linux/netfilter/nf_tables.h, nfnetlink.h):
//
//   nlmsghdr  type = NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWSETELEM (or DEL)
//   nfgenmsg  { nfproto, NFNETLINK_V0, res_id 0 }
//   NFTA_SET_ELEM_LIST_TABLE  "svcproxy"
//   NFTA_SET_ELEM_LIST_SET    "service-ips"
//   NFTA_SET_ELEM_LIST_ELEMENTS {
//     NFTA_LIST_ELEM {
//       NFTA_SET_ELEM_KEY      { NFTA_DATA_VALUE <key bytes> }
//       NFTA_SET_ELEM_DATA     { NFTA_DATA_VALUE <bytes> }
//                            | { NFTA_DATA_VERDICT { NFTA_VERDICT_CODE be32, NFTA_VERDICT_CHAIN "x" } }
//       NFTA_SET_ELEM_USERDATA { u8 NFTNL_UDATA_SET_ELEM_COMMENT, u8 len, "comment\0" }
//     } ...
//   }
#include "elements.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>

#include <cstring>

#include "packed.h"

namespace svcproxy {
namespace nft {
namespace {

constexpr uint8_t kVerbAdd = SVP_NFT_VERB_ADD;
constexpr uint8_t kVerbDelete = SVP_NFT_VERB_DELETE;
// the packed format's one definition: packed.h
constexpr uint8_t kDataNone = SVP_NFT_DATA_NONE;
constexpr uint8_t kDataValue = SVP_NFT_DATA_VALUE;
constexpr uint8_t kDataVerdict = SVP_NFT_DATA_VERDICT;

// A message is closed when it holds this many elements or bytes; the
// largest element (255-byte key, value, chain and comment) fits the slack.
constexpr uint32_t kElementsPerMessage = 256;
constexpr size_t kMessageSoftLimit = 48 * 1024;
constexpr size_t kMessageRoom = 64 * 1024;

struct Elem {
  const uint8_t* key;
  uint8_t keyLen;
  uint8_t dataKind;
  const uint8_t* value;
  uint8_t valueLen;
  int32_t verdict;
  std::string chain;
  std::string comment;
};

// Bounds-checked reader over the packed buffer.
class Reader {
 public:
  explicit Reader(const std::vector<uint8_t>& b) : p_(b.data()), end_(b.data() + b.size()) {}
  bool done() const { return p_ == end_; }
  bool ok() const { return ok_; }
  uint8_t u8() { return need(1) ? *p_++ : 0; }
  uint32_t u32() {
    if (!need(4)) return 0;
    uint32_t v = uint32_t(p_[0]) | uint32_t(p_[1]) << 8 | uint32_t(p_[2]) << 16 | uint32_t(p_[3]) << 24;
    p_ += 4;
    return v;
  }
  const uint8_t* bytes(size_t n) {
    if (!need(n)) return nullptr;
    const uint8_t* at = p_;
    p_ += n;
    return at;
  }
  std::string str(size_t n) {
    const uint8_t* at = bytes(n);
    return at != nullptr ? std::string(reinterpret_cast<const char*>(at), n) : std::string();
  }

 private:
  bool need(size_t n) {
    if (!ok_ || size_t(end_ - p_) < n) ok_ = false;
    return ok_;
  }
  const uint8_t* p_;
  const uint8_t* end_;
  bool ok_ = true;
};

bool ReadElem(Reader& r, Elem* e) {
  e->keyLen = r.u8();
  e->key = r.bytes(e->keyLen);
  e->dataKind = r.u8();
  e->value = nullptr;
  e->valueLen = 0;
  e->verdict = 0;
  e->chain.clear();
  if (e->dataKind == kDataValue) {
    e->valueLen = r.u8();
    e->value = r.bytes(e->valueLen);
  } else if (e->dataKind == kDataVerdict) {
    e->verdict = int32_t(r.u32());
    e->chain = r.str(r.u8());
  } else if (e->dataKind != kDataNone) {
    return false;
  }
  e->comment = r.str(r.u8());
  return r.ok() && e->keyLen > 0;
}

void PutElem(struct nlmsghdr* nlh, const Elem& e) {
  struct nlattr* item = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
  struct nlattr* key = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
  mnl_attr_put(nlh, NFTA_DATA_VALUE, e.keyLen, e.key);
  mnl_attr_nest_end(nlh, key);
  if (e.dataKind != kDataNone) {
    struct nlattr* data = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_DATA);
    if (e.dataKind == kDataValue) {
      mnl_attr_put(nlh, NFTA_DATA_VALUE, e.valueLen, e.value);
    } else {
      struct nlattr* v = mnl_attr_nest_start(nlh, NFTA_DATA_VERDICT);
      mnl_attr_put_u32(nlh, NFTA_VERDICT_CODE, htonl(uint32_t(e.verdict)));
      if (!e.chain.empty()) mnl_attr_put_strz(nlh, NFTA_VERDICT_CHAIN, e.chain.c_str());
      mnl_attr_nest_end(nlh, v);
    }
    mnl_attr_nest_end(nlh, data);
  }
  if (!e.comment.empty()) {
    // struct nftnl_udata: u8 type, u8 len, value (NUL-terminated string)
    uint8_t ud[2 + 256];
    size_t n = e.comment.size() + 1;
    ud[0] = NFTNL_UDATA_SET_ELEM_COMMENT;
    ud[1] = uint8_t(n);
    memcpy(ud + 2, e.comment.c_str(), n);
    mnl_attr_put(nlh, NFTA_SET_ELEM_USERDATA, 2 + n, ud);
  }
  mnl_attr_nest_end(nlh, item);
}

// Which elements a message carried, to name them when the kernel refuses it.
struct Sent {
  uint32_t seq;
  std::string set;
  uint8_t verb;
  uint32_t first;
  uint32_t count;
};

class BatchBuilder {
 public:
  explicit BatchBuilder(uint32_t seq) : seq_(seq) {}

  struct nlmsghdr* Begin(uint16_t type, uint16_t flags, uint8_t family, uint16_t resId) {
    Reserve();
    struct nlmsghdr* nlh = mnl_nlmsg_put_header(buf_.data() + len_);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    nlh->nlmsg_seq = seq_++;
    auto* nfg = static_cast<struct nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(struct nfgenmsg)));
    nfg->nfgen_family = family;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = htons(resId);
    return nlh;
  }
  void End(struct nlmsghdr* nlh) { len_ += nlh->nlmsg_len; }
  size_t Open(struct nlmsghdr* nlh) const { return nlh->nlmsg_len; }
  const uint8_t* data() const { return buf_.data(); }
  size_t size() const { return len_; }

 private:
  void Reserve() {
    if (buf_.size() < len_ + kMessageRoom) buf_.resize((len_ + kMessageRoom) * 2);
  }
  std::vector<uint8_t> buf_;
  size_t len_ = 0;
  uint32_t seq_;
};

std::string Describe(const Sent& s) {
  return std::string(s.verb == kVerbAdd ? "add" : "delete") + " element(s) " + std::to_string(s.first) + "-" +
         std::to_string(s.first + s.count - 1) + " of set " + s.set;
}

// Build the batch; false (with err) when the packed input is malformed.
bool Build(const std::vector<uint8_t>& packed, BatchBuilder* b, std::vector<Sent>* sent, ElementBatchResult* out,
           NativeError* err, uint32_t seq0) {
  struct nlmsghdr* begin = b->Begin(NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
  b->End(begin);
  Reader r(packed);
  Elem e;
  uint32_t seq = seq0 + 1;
  while (!r.done()) {
    uint8_t verb = r.u8();
    uint8_t family = r.u8();
    std::string table = r.str(r.u8());
    std::string set = r.str(r.u8());
    uint32_t count = r.u32();
    if (!r.ok() || (verb != kVerbAdd && verb != kVerbDelete) || table.empty() || set.empty()) {
      err->Set("EINVAL", "nft.elements", "malformed element batch (operation header)");
      return false;
    }
    uint16_t type = (NFNL_SUBSYS_NFTABLES << 8) | (verb == kVerbAdd ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM);
    uint16_t flags = verb == kVerbAdd ? (NLM_F_CREATE | NLM_F_EXCL) : 0;
    uint32_t i = 0;
    while (i < count) {
      struct nlmsghdr* nlh = b->Begin(type, flags, family, 0);
      mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table.c_str());
      mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set.c_str());
      struct nlattr* list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
      uint32_t first = i;
      for (; i < count && i - first < kElementsPerMessage && b->Open(nlh) < kMessageSoftLimit; i++) {
        if (!ReadElem(r, &e)) {
          err->Set("EINVAL", "nft.elements", "malformed element batch (element " + std::to_string(i) + " of set " + set + ")");
          return false;
        }
        PutElem(nlh, e);
      }
      mnl_attr_nest_end(nlh, list);
      b->End(nlh);
      sent->push_back({seq++, set, verb, first, i - first});
      out->elements += i - first;
      out->messages++;
    }
  }
  struct nlmsghdr* end = b->Begin(NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
  b->End(end);
  return true;
}

}  // namespace

struct mnl_socket* OpenBatchSocket(NativeError* err) {
  struct mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (nl == nullptr) {
    err->SetErrno("nft.elements.socket", errno);
    return nullptr;
  }
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    err->SetErrno("nft.elements.bind", errno);
    mnl_socket_close(nl);
    return nullptr;
  }
  int fd = mnl_socket_get_fd(nl);
  int rcvbuf = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));  // errors without the echoed request
  return nl;
}

void CloseBatchSocket(struct mnl_socket* nl) {
  if (nl != nullptr) mnl_socket_close(nl);
}

void SendElementBatch(struct mnl_socket* nl, uint32_t* seq, const std::vector<uint8_t>& packed, ElementBatchResult* out,
                      NativeError* err) {
  if (packed.empty()) return;
  uint32_t seq0 = *seq;
  BatchBuilder b(seq0);
  std::vector<Sent> sent;
  if (!Build(packed, &b, &sent, out, err, seq0)) return;
  *seq = seq0 + uint32_t(sent.size()) + 2;

  int fd = mnl_socket_get_fd(nl);
  std::vector<uint8_t> rx(MNL_SOCKET_BUFFER_SIZE * 4);
  while (recv(fd, rx.data(), rx.size(), MSG_DONTWAIT) > 0) {
  }  // nothing of an earlier batch may be taken for this one's answer
  // The whole batch goes in one sendmsg (one skb: nfnetlink processes a
  // batch within one skb), so the send buffer must hold it.
  int sndbuf = int(b.size() + 4096);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
  if (mnl_socket_sendto(nl, b.data(), b.size()) < 0) return err->SetErrno("nft.elements.send", errno);
  // nfnetlink handles the batch inside sendmsg: every error is queued by now.
  // No message asks for an ACK, so an empty queue means committed.
  for (;;) {
    ssize_t n = recv(fd, rx.data(), rx.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      if (!err->failed()) err->SetErrno("nft.elements.recv", errno);
      break;
    }
    auto* nlh = reinterpret_cast<struct nlmsghdr*>(rx.data());
    int len = int(n);
    for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
      if (nlh->nlmsg_type != NLMSG_ERROR) continue;
      auto* e = static_cast<struct nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      if (e->error == 0 || err->failed()) continue;
      std::string what = "nf_tables batch";
      for (const Sent& s : sent)
        if (s.seq == nlh->nlmsg_seq) what = Describe(s);
      err->SetErrno("nft.elements", -e->error, what);
    }
  }
}

}  // namespace nft
}  // namespace svcproxy
