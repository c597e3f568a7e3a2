#include "codec.h"

#include <arpa/inet.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>

#include <cstring>

namespace svcproxy::ipvs {
namespace {

size_t AddrLen(const Addr& a) { return a.family == AF_INET6 ? 16 : 4; }

// Parse a nested attribute block into a table indexed by type.
template <size_t N>
void Table(const struct nlattr* nest, const struct nlattr* (&tb)[N]) {
  for (auto& t : tb) t = nullptr;
  ForEachNested(nest, [&](const struct nlattr* a) {
    uint16_t type = mnl_attr_get_type(a);
    if (type < N) tb[type] = a;
  });
}

void ReadAddr(const struct nlattr* a, uint16_t family, Addr* out) {
  out->family = family;
  size_t n = mnl_attr_get_payload_len(a);
  memcpy(out->bytes, mnl_attr_get_payload(a), n < 16 ? n : 16);
}

uint64_t U64(const struct nlattr* a) { return a ? mnl_attr_get_u64(a) : 0; }
uint32_t U32(const struct nlattr* a) { return a ? mnl_attr_get_u32(a) : 0; }

void ReadStats(const struct nlattr* nest, Stats* s) {
  if (!nest) return;
  const struct nlattr* tb[IPVS_STATS_ATTR_MAX + 1];
  Table(nest, tb);
  s->conns = U64(tb[IPVS_STATS_ATTR_CONNS]);
  s->inpkts = U64(tb[IPVS_STATS_ATTR_INPKTS]);
  s->outpkts = U64(tb[IPVS_STATS_ATTR_OUTPKTS]);
  s->inbytes = U64(tb[IPVS_STATS_ATTR_INBYTES]);
  s->outbytes = U64(tb[IPVS_STATS_ATTR_OUTBYTES]);
  s->cps = U64(tb[IPVS_STATS_ATTR_CPS]);
  s->inpps = U64(tb[IPVS_STATS_ATTR_INPPS]);
  s->outpps = U64(tb[IPVS_STATS_ATTR_OUTPPS]);
  s->inbps = U64(tb[IPVS_STATS_ATTR_INBPS]);
  s->outbps = U64(tb[IPVS_STATS_ATTR_OUTBPS]);
}

// The first top-level attribute of the given type after the genl header.
const struct nlattr* TopLevel(const struct nlmsghdr* nlh, uint16_t type) {
  const struct nlattr* found = nullptr;
  ForEachAttr(nlh, [&](const struct nlattr* a) {
    if (!found && mnl_attr_get_type(a) == type) found = a;
  });
  return found;
}

}  // namespace

void PutService(struct nlmsghdr* nlh, const Service& s, bool full) {
  struct nlattr* nest = mnl_attr_nest_start(nlh, IPVS_CMD_ATTR_SERVICE);
  mnl_attr_put_u16(nlh, IPVS_SVC_ATTR_AF, s.addr.family);
  if (s.fwmark != 0) {
    mnl_attr_put_u32(nlh, IPVS_SVC_ATTR_FWMARK, s.fwmark);
  } else {
    mnl_attr_put_u16(nlh, IPVS_SVC_ATTR_PROTOCOL, s.protocol);
    mnl_attr_put(nlh, IPVS_SVC_ATTR_ADDR, AddrLen(s.addr), s.addr.bytes);
    mnl_attr_put_u16(nlh, IPVS_SVC_ATTR_PORT, htons(s.port));
  }
  if (full) {
    mnl_attr_put_strz(nlh, IPVS_SVC_ATTR_SCHED_NAME, s.sched.c_str());
    struct ip_vs_flags f = {s.flags, ~0u};
    mnl_attr_put(nlh, IPVS_SVC_ATTR_FLAGS, sizeof f, &f);
    mnl_attr_put_u32(nlh, IPVS_SVC_ATTR_TIMEOUT, s.timeout);
    // v4: a mask in network order; v6: the prefix length, as ipvsadm sends it.
    mnl_attr_put_u32(nlh, IPVS_SVC_ATTR_NETMASK, s.addr.family == AF_INET6 ? s.netmask : htonl(s.netmask));
  }
  mnl_attr_nest_end(nlh, nest);
}

void PutDest(struct nlmsghdr* nlh, const Dest& d, bool full) {
  struct nlattr* nest = mnl_attr_nest_start(nlh, IPVS_CMD_ATTR_DEST);
  mnl_attr_put(nlh, IPVS_DEST_ATTR_ADDR, AddrLen(d.addr), d.addr.bytes);
  mnl_attr_put_u16(nlh, IPVS_DEST_ATTR_PORT, htons(d.port));
  mnl_attr_put_u16(nlh, IPVS_DEST_ATTR_ADDR_FAMILY, d.addr.family);
  if (full) {
    mnl_attr_put_u32(nlh, IPVS_DEST_ATTR_FWD_METHOD, d.fwd & IP_VS_CONN_F_FWD_MASK);
    mnl_attr_put_u32(nlh, IPVS_DEST_ATTR_WEIGHT, static_cast<uint32_t>(d.weight));
    mnl_attr_put_u32(nlh, IPVS_DEST_ATTR_U_THRESH, d.u_thresh);
    mnl_attr_put_u32(nlh, IPVS_DEST_ATTR_L_THRESH, d.l_thresh);
  }
  mnl_attr_nest_end(nlh, nest);
}

bool ParseService(const struct nlmsghdr* nlh, Service* out) {
  const struct nlattr* nest = TopLevel(nlh, IPVS_CMD_ATTR_SERVICE);
  if (!nest) return false;
  const struct nlattr* tb[IPVS_SVC_ATTR_MAX + 1];
  Table(nest, tb);
  uint16_t af = tb[IPVS_SVC_ATTR_AF] ? mnl_attr_get_u16(tb[IPVS_SVC_ATTR_AF]) : AF_INET;
  out->addr.family = af;
  if (tb[IPVS_SVC_ATTR_ADDR]) ReadAddr(tb[IPVS_SVC_ATTR_ADDR], af, &out->addr);
  if (tb[IPVS_SVC_ATTR_PROTOCOL]) out->protocol = mnl_attr_get_u16(tb[IPVS_SVC_ATTR_PROTOCOL]);
  if (tb[IPVS_SVC_ATTR_PORT]) out->port = ntohs(mnl_attr_get_u16(tb[IPVS_SVC_ATTR_PORT]));
  out->fwmark = U32(tb[IPVS_SVC_ATTR_FWMARK]);
  if (tb[IPVS_SVC_ATTR_SCHED_NAME]) out->sched = mnl_attr_get_str(tb[IPVS_SVC_ATTR_SCHED_NAME]);
  if (tb[IPVS_SVC_ATTR_PE_NAME]) out->pe_name = mnl_attr_get_str(tb[IPVS_SVC_ATTR_PE_NAME]);
  if (tb[IPVS_SVC_ATTR_FLAGS]) {
    struct ip_vs_flags f;
    memcpy(&f, mnl_attr_get_payload(tb[IPVS_SVC_ATTR_FLAGS]), sizeof f);
    out->flags = f.flags;
  }
  out->timeout = U32(tb[IPVS_SVC_ATTR_TIMEOUT]);
  uint32_t mask = U32(tb[IPVS_SVC_ATTR_NETMASK]);
  out->netmask = af == AF_INET6 ? mask : ntohl(mask);
  ReadStats(tb[IPVS_SVC_ATTR_STATS64], &out->stats);
  return true;
}

bool ParseDest(const struct nlmsghdr* nlh, Dest* out) {
  const struct nlattr* nest = TopLevel(nlh, IPVS_CMD_ATTR_DEST);
  if (!nest) return false;
  const struct nlattr* tb[IPVS_DEST_ATTR_MAX + 1];
  Table(nest, tb);
  uint16_t af = tb[IPVS_DEST_ATTR_ADDR_FAMILY] ? mnl_attr_get_u16(tb[IPVS_DEST_ATTR_ADDR_FAMILY]) : AF_INET;
  if (tb[IPVS_DEST_ATTR_ADDR]) ReadAddr(tb[IPVS_DEST_ATTR_ADDR], af, &out->addr);
  if (tb[IPVS_DEST_ATTR_PORT]) out->port = ntohs(mnl_attr_get_u16(tb[IPVS_DEST_ATTR_PORT]));
  out->fwd = U32(tb[IPVS_DEST_ATTR_FWD_METHOD]) & IP_VS_CONN_F_FWD_MASK;
  out->weight = static_cast<int32_t>(U32(tb[IPVS_DEST_ATTR_WEIGHT]));
  out->u_thresh = U32(tb[IPVS_DEST_ATTR_U_THRESH]);
  out->l_thresh = U32(tb[IPVS_DEST_ATTR_L_THRESH]);
  out->active = U32(tb[IPVS_DEST_ATTR_ACTIVE_CONNS]);
  out->inactive = U32(tb[IPVS_DEST_ATTR_INACT_CONNS]);
  out->persist = U32(tb[IPVS_DEST_ATTR_PERSIST_CONNS]);
  ReadStats(tb[IPVS_DEST_ATTR_STATS64], &out->stats);
  return true;
}

}  // namespace svcproxy::ipvs
