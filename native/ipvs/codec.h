// IPVS virtual services and destinations as plain structs, and their
// generic-netlink encoding (linux/ip_vs.h, IPVS_CMD_ATTR_* / IPVS_SVC_ATTR_*
// / IPVS_DEST_ATTR_*). No policy here: TypeScript decides what to send.
#pragma once
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <vector>

namespace svcproxy::ipvs {

// Attribute walks (libmnl's for_each macros do not compile as C++).
template <typename F>
void ForEachAttr(const struct nlmsghdr* nlh, F f) {
  auto* a = static_cast<const struct nlattr*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(struct genlmsghdr)));
  const char* end = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
  for (; mnl_attr_ok(a, static_cast<int>(end - reinterpret_cast<const char*>(a))); a = mnl_attr_next(a)) f(a);
}
template <typename F>
void ForEachNested(const struct nlattr* nest, F f) {
  auto* a = static_cast<const struct nlattr*>(mnl_attr_get_payload(nest));
  const char* end = reinterpret_cast<const char*>(nest) + nest->nla_len;
  for (; mnl_attr_ok(a, static_cast<int>(end - reinterpret_cast<const char*>(a))); a = mnl_attr_next(a)) f(a);
}

// Address in network byte order; v4 uses the first 4 bytes (union nf_inet_addr).
struct Addr {
  uint16_t family = AF_INET;
  uint8_t bytes[16] = {};
};

// IPVS_STATS_ATTR_* (the 64-bit set, IPVS_SVC_ATTR_STATS64 / IPVS_DEST_ATTR_STATS64).
struct Stats {
  uint64_t conns = 0, inpkts = 0, outpkts = 0, inbytes = 0, outbytes = 0;
  uint64_t cps = 0, inpps = 0, outpps = 0, inbps = 0, outbps = 0;
};

struct Service {
  Addr addr;               // IPVS_SVC_ATTR_AF + IPVS_SVC_ATTR_ADDR (unless fwmark)
  uint16_t protocol = 0;   // IPPROTO_TCP/UDP/SCTP
  uint16_t port = 0;       // host order here, be16 on the wire
  uint32_t fwmark = 0;     // nonzero: a fwmark service (no addr/port/protocol)
  std::string sched = "rr";
  uint32_t flags = 0;      // IP_VS_SVC_F_*
  uint32_t timeout = 0;    // persistence, seconds
  uint32_t netmask = 0;    // v4: mask (host order here); v6: prefix length
  std::string pe_name;     // persistence engine (read only)
  Stats stats;             // read only
};

struct Dest {
  Addr addr;                 // IPVS_DEST_ATTR_ADDR (+ IPVS_DEST_ATTR_ADDR_FAMILY)
  uint16_t port = 0;
  uint32_t fwd = 0;          // IP_VS_CONN_F_MASQ / TUNNEL / DROUTE
  int32_t weight = 1;
  uint32_t u_thresh = 0, l_thresh = 0;
  uint32_t active = 0, inactive = 0, persist = 0;  // read only
  Stats stats;                                     // read only
};

// Nesting written for each command (genlmsghdr, then):
//
//   IPVS_CMD_ATTR_SERVICE (nested)          every service and dest command
//     IPVS_SVC_ATTR_AF            u16       -+
//     IPVS_SVC_ATTR_PROTOCOL      u16        | identity (or AF + IPVS_SVC_ATTR_FWMARK u32)
//     IPVS_SVC_ATTR_ADDR          binary     |
//     IPVS_SVC_ATTR_PORT          be16      -+
//     IPVS_SVC_ATTR_SCHED_NAME    string    -+ "full" entry: NEW/SET_SERVICE only
//     IPVS_SVC_ATTR_FLAGS         struct ip_vs_flags {flags, mask}
//     IPVS_SVC_ATTR_TIMEOUT       u32        |
//     IPVS_SVC_ATTR_NETMASK       be32      -+
//   IPVS_CMD_ATTR_DEST (nested)             dest commands only
//     IPVS_DEST_ATTR_ADDR         binary
//     IPVS_DEST_ATTR_PORT         be16
//     IPVS_DEST_ATTR_ADDR_FAMILY  u16
//     IPVS_DEST_ATTR_FWD_METHOD   u32       -+ "full" entry: NEW/SET_DEST only
//     IPVS_DEST_ATTR_WEIGHT       u32        |
//     IPVS_DEST_ATTR_U_THRESH     u32        |
//     IPVS_DEST_ATTR_L_THRESH     u32       -+
void PutService(struct nlmsghdr* nlh, const Service& s, bool full);
void PutDest(struct nlmsghdr* nlh, const Dest& d, bool full);

// Parse the payload of an IPVS_CMD_NEW_SERVICE / IPVS_CMD_NEW_DEST dump reply.
bool ParseService(const struct nlmsghdr* nlh, Service* out);
bool ParseDest(const struct nlmsghdr* nlh, Dest* out);

}  // namespace svcproxy::ipvs
