// See dump.h. Netlink layout of the answer (uapi linux/netfilter/nf_tables.h):
//
//   NFT_MSG_NEWSETELEM (multipart, until NLMSG_DONE)
//     NFTA_SET_ELEM_LIST_TABLE, NFTA_SET_ELEM_LIST_SET
//     NFTA_SET_ELEM_LIST_ELEMENTS { NFTA_LIST_ELEM {
//       NFTA_SET_ELEM_KEY      { NFTA_DATA_VALUE }
//       NFTA_SET_ELEM_DATA     { NFTA_DATA_VALUE } | { NFTA_DATA_VERDICT { NFTA_VERDICT_CODE be32, NFTA_VERDICT_CHAIN } }
//       NFTA_SET_ELEM_USERDATA { u8 NFTNL_UDATA_SET_ELEM_COMMENT, u8 len, "comment\0" } ...
//     } ... }
#include "dump.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <time.h>

#include <cstring>

#include "packed.h"

namespace svcproxy {
namespace nft {
namespace {

// the packed format's one definition: packed.h
constexpr uint8_t kDataNone = SVP_NFT_DATA_NONE;
constexpr uint8_t kDataValue = SVP_NFT_DATA_VALUE;
constexpr uint8_t kDataVerdict = SVP_NFT_DATA_VERDICT;

struct Out {
  std::vector<uint8_t>* buf;
  uint32_t count = 0;
  bool malformed = false;
  void u8(uint8_t v) { buf->push_back(v); }
  void bytes(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    buf->insert(buf->end(), b, b + n);
  }
  // u8 length + bytes; svcproxy's keys, values, chain names and comments all fit
  void sized(const void* p, size_t n) {
    if (n > 255) {
      malformed = true;
      n = 0;
    }
    u8(uint8_t(n));
    bytes(p, n);
  }
};

// The attributes in [start, end). (libmnl's mnl_attr_for_each* macros
// assign void*, which C++ refuses.)
std::vector<const struct nlattr*> Attrs(const void* start, const void* end) {
  std::vector<const struct nlattr*> out;
  const auto* a = static_cast<const struct nlattr*>(start);
  while (mnl_attr_ok(a, int(static_cast<const char*>(end) - reinterpret_cast<const char*>(a)))) {
    out.push_back(a);
    a = mnl_attr_next(a);
  }
  return out;
}

std::vector<const struct nlattr*> Nested(const struct nlattr* nest) {
  const char* p = static_cast<const char*>(mnl_attr_get_payload(nest));
  return Attrs(p, p + mnl_attr_get_payload_len(nest));
}

// The payload of NFTA_DATA_VALUE inside a NFTA_SET_ELEM_KEY/DATA nest.
const struct nlattr* DataValue(const struct nlattr* nest) {
  for (const struct nlattr* a : Nested(nest))
    if (mnl_attr_get_type(a) == NFTA_DATA_VALUE) return a;
  return nullptr;
}

void PutData(Out* o, const struct nlattr* data) {
  if (data == nullptr) return o->u8(kDataNone);
  for (const struct nlattr* a : Nested(data)) {
    if (mnl_attr_get_type(a) == NFTA_DATA_VALUE) {
      o->u8(kDataValue);
      return o->sized(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a));
    }
    if (mnl_attr_get_type(a) == NFTA_DATA_VERDICT) {
      int32_t code = 0;
      const char* chain = "";
      for (const struct nlattr* v : Nested(a)) {
        if (mnl_attr_get_type(v) == NFTA_VERDICT_CODE) code = int32_t(ntohl(mnl_attr_get_u32(v)));
        if (mnl_attr_get_type(v) == NFTA_VERDICT_CHAIN) chain = mnl_attr_get_str(v);
      }
      o->u8(kDataVerdict);
      uint32_t le = uint32_t(code);
      uint8_t b[4] = {uint8_t(le), uint8_t(le >> 8), uint8_t(le >> 16), uint8_t(le >> 24)};
      o->bytes(b, 4);
      return o->sized(chain, strlen(chain));
    }
  }
  o->u8(kDataNone);
}

// The comment in an element's user data TLVs (nftnl udata: u8 type, u8 len, value).
void PutComment(Out* o, const struct nlattr* udata) {
  if (udata != nullptr) {
    const auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(udata));
    size_t n = mnl_attr_get_payload_len(udata);
    for (size_t i = 0; i + 2 <= n && i + 2 + p[i + 1] <= n; i += 2 + p[i + 1]) {
      if (p[i] != NFTNL_UDATA_SET_ELEM_COMMENT) continue;
      size_t len = p[i + 1];
      while (len > 0 && p[i + 2 + len - 1] == '\0') len--;
      return o->sized(p + i + 2, len);
    }
  }
  o->u8(0);
}

void PutElem(Out* o, const struct nlattr* elem) {
  const struct nlattr *key = nullptr, *data = nullptr, *udata = nullptr;
  for (const struct nlattr* a : Nested(elem)) {
    switch (mnl_attr_get_type(a)) {
      case NFTA_SET_ELEM_KEY: key = DataValue(a); break;
      case NFTA_SET_ELEM_DATA: data = a; break;
      case NFTA_SET_ELEM_USERDATA: udata = a; break;
      default: break;
    }
  }
  if (key == nullptr) {
    o->malformed = true;
    return;
  }
  o->sized(mnl_attr_get_payload(key), mnl_attr_get_payload_len(key));
  PutData(o, data);
  PutComment(o, udata);
  o->count++;
}

int OnMessage(const struct nlmsghdr* nlh, void* arg) {
  auto* o = static_cast<Out*>(arg);
  const void* end = reinterpret_cast<const char*>(nlh) + nlh->nlmsg_len;
  for (const struct nlattr* a : Attrs(mnl_nlmsg_get_payload_offset(nlh, sizeof(struct nfgenmsg)), end)) {
    if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS) continue;
    for (const struct nlattr* e : Nested(a))
      if (mnl_attr_get_type(e) == NFTA_LIST_ELEM) PutElem(o, e);
  }
  return MNL_CB_OK;
}

}  // namespace

void DumpSetElements(uint8_t family, const std::string& table, const std::string& set, std::vector<uint8_t>* out,
                     uint32_t* count, NativeError* err) {
  struct mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (nl == nullptr) return err->SetErrno("nft.dump.socket", errno);
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    err->SetErrno("nft.dump.bind", errno);
    mnl_socket_close(nl);
    return;
  }
  std::vector<uint8_t> buf(1 << 16);  // dump parts are at most a page or two each
  uint32_t seq = uint32_t(time(nullptr));
  struct nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSETELEM;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = seq;
  auto* nfg = static_cast<struct nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(struct nfgenmsg)));
  nfg->nfgen_family = family;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = htons(0);
  mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table.c_str());
  mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set.c_str());
  Out o{out};
  if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
    err->SetErrno("nft.dump.send", errno);
  } else {
    uint32_t portid = mnl_socket_get_portid(nl);
    for (;;) {
      ssize_t n = mnl_socket_recvfrom(nl, buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        err->SetErrno("nft.dump.recv", errno, table + " " + set);
        break;
      }
      int rc = mnl_cb_run(buf.data(), size_t(n), seq, portid, OnMessage, &o);
      if (rc == MNL_CB_STOP) break;  // NLMSG_DONE
      if (rc < 0) {
        err->SetErrno("nft.dump", errno, table + " " + set);  // NLMSG_ERROR: errno set by mnl_cb_run
        break;
      }
    }
  }
  mnl_socket_close(nl);
  if (!err->failed() && o.malformed) err->Set("EPROTO", "nft.dump", "unexpected element in " + table + " " + set);
  *count = o.count;
}

}  // namespace nft
}  // namespace svcproxy
