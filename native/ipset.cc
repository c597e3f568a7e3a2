// ipset over nfnetlink (linux/netfilter/ipset/ip_set.h), for IPVS mode's
// sets (kube-proxy's KUBE-LOOP-BACK, KUBE-CLUSTER-IP, KUBE-IPVS-IPS): the kernel, not the ipset
// tool, so no process per change. TypeScript decides the sets and entries;
// this only encodes, in one batch per call inside the namespace.
//
//   ipsetBatch({netns, ops}) -> {errors: [{index, errno, code}]}
//     {cmd: 'create', name, type, revision, family: 4|6, hashsize, maxelem}
//     {cmd: 'destroy' | 'flush', name}   {cmd: 'swap', name, name2}
//     {cmd: 'add' | 'del' | 'test', name, entry: {ip, port?, proto?, ip2?}}
//       hash:ip takes {ip}, hash:ip,port {ip, port, proto}, hash:ip,port,ip all four
//   Without NLM_F_EXCL the kernel takes an add of an entry already there, a
//   del of one that is not, a create of an identical set and a destroy of a
//   set that is not there, as success.
//   ipset's own errors come back as their numbers (IPSET_ERR_*, >= 4096).
//   ipsetNames({netns}) -> string[]   every set in the namespace
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/ipset/ip_set.h>
#include <linux/netfilter/nfnetlink.h>

#include <string>
#include <vector>

#include "args.h"
#include "error.h"
#include "exports.h"
#include "ipvs/genl.h"
#include "ipvs/js.h"
#include "netns.h"

namespace svcproxy {
namespace {

using ipvs::Ack;
using ipvs::Message;
using ipvs::NetlinkSocket;

struct Entry {
  in_addr ip{}, ip2{};
  uint16_t port = 0;
  uint8_t proto = 0;
  // attributes sent only when given: the set's type decides which it needs
  bool has_port = false, has_ip2 = false;
};

struct Op {
  uint8_t cmd = 0;
  std::string name, name2, type;
  uint8_t revision = 0, family = NFPROTO_IPV4;
  uint32_t hashsize = 0, maxelem = 0;
  Entry entry;
};

struct nlmsghdr* Begin(char* buf, uint8_t cmd, uint8_t family) {
  struct nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = (NFNL_SUBSYS_IPSET << 8) | cmd;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  auto* nfg = static_cast<struct nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(struct nfgenmsg)));
  nfg->nfgen_family = family;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  mnl_attr_put_u8(nlh, IPSET_ATTR_PROTOCOL, IPSET_PROTOCOL);
  return nlh;
}

void PutAddr(struct nlmsghdr* nlh, uint16_t type, const in_addr& a) {
  struct nlattr* n = mnl_attr_nest_start(nlh, type);
  mnl_attr_put(nlh, IPSET_ATTR_IPADDR_IPV4 | NLA_F_NET_BYTEORDER, sizeof a, &a);
  mnl_attr_nest_end(nlh, n);
}

Message Encode(const Op& op) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr* nlh = Begin(buf, op.cmd, op.family);
  mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME, op.name.c_str());
  if (op.cmd == IPSET_CMD_CREATE) {
    mnl_attr_put_strz(nlh, IPSET_ATTR_TYPENAME, op.type.c_str());
    mnl_attr_put_u8(nlh, IPSET_ATTR_REVISION, op.revision);
    mnl_attr_put_u8(nlh, IPSET_ATTR_FAMILY, op.family);
    struct nlattr* data = mnl_attr_nest_start(nlh, IPSET_ATTR_DATA);
    mnl_attr_put_u32(nlh, IPSET_ATTR_HASHSIZE | NLA_F_NET_BYTEORDER, htonl(op.hashsize));
    mnl_attr_put_u32(nlh, IPSET_ATTR_MAXELEM | NLA_F_NET_BYTEORDER, htonl(op.maxelem));
    mnl_attr_nest_end(nlh, data);
  } else if (op.cmd == IPSET_CMD_SWAP) {
    mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME2, op.name2.c_str());
  } else if (op.cmd == IPSET_CMD_ADD || op.cmd == IPSET_CMD_DEL || op.cmd == IPSET_CMD_TEST) {
    struct nlattr* data = mnl_attr_nest_start(nlh, IPSET_ATTR_DATA);
    PutAddr(nlh, IPSET_ATTR_IP, op.entry.ip);
    if (op.entry.has_port) {
      mnl_attr_put_u16(nlh, IPSET_ATTR_PORT | NLA_F_NET_BYTEORDER, htons(op.entry.port));
      mnl_attr_put_u8(nlh, IPSET_ATTR_PROTO, op.entry.proto);
    }
    if (op.entry.has_ip2) PutAddr(nlh, IPSET_ATTR_IP2, op.entry.ip2);
    mnl_attr_nest_end(nlh, data);
  }
  const char* p = reinterpret_cast<const char*>(nlh);
  return Message(p, p + nlh->nlmsg_len);
}

// Base: enter the namespace, open a netfilter netlink socket there, then Work().
class IpsetWorker : public PromiseWorker {
 public:
  IpsetWorker(Napi::Env env, NetnsTarget netns) : PromiseWorker(env), netns_(std::move(netns)) {}

 protected:
  void Run() override {
    NetnsGuard ns(netns_, &err_);
    if (!ns.ok()) return;
    NetlinkSocket sock(NETLINK_NETFILTER, &err_);
    if (sock.bound()) Work(sock);
  }
  virtual void Work(NetlinkSocket& sock) = 0;

 private:
  NetnsTarget netns_;
};

class BatchWorker : public IpsetWorker {
 public:
  BatchWorker(Napi::Env env, NetnsTarget netns, std::vector<Op> ops) : IpsetWorker(env, std::move(netns)), ops_(std::move(ops)) {}

 protected:
  void Work(NetlinkSocket& sock) override {
    std::vector<Message> msgs;
    msgs.reserve(ops_.size());
    for (const Op& op : ops_) msgs.push_back(Encode(op));
    sock.Batch(msgs, &acks_, &err_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("errors", ipvs::AckErrorsToJs(env, acks_));
    return o;
  }

 private:
  std::vector<Op> ops_;
  std::vector<Ack> acks_;
};

class NamesWorker : public IpsetWorker {
 public:
  using IpsetWorker::IpsetWorker;

 protected:
  void Work(NetlinkSocket& sock) override {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr* nlh = Begin(buf, IPSET_CMD_LIST, NFPROTO_UNSPEC);
    nlh->nlmsg_flags |= NLM_F_DUMP;
    mnl_attr_put_u32(nlh, IPSET_ATTR_FLAGS | NLA_F_NET_BYTEORDER, htonl(IPSET_FLAG_LIST_SETNAME));
    const char* p = reinterpret_cast<const char*>(nlh);
    sock.Dump(Message(p, p + nlh->nlmsg_len), [&](const struct nlmsghdr* r) {
      auto* a = static_cast<const struct nlattr*>(mnl_nlmsg_get_payload_offset(r, sizeof(struct nfgenmsg)));
      const char* end = static_cast<const char*>(mnl_nlmsg_get_payload_tail(r));
      for (; mnl_attr_ok(a, static_cast<int>(end - reinterpret_cast<const char*>(a))); a = mnl_attr_next(a)) {
        if (mnl_attr_get_type(a) == IPSET_ATTR_SETNAME) names_.push_back(mnl_attr_get_str(a));
      }
    }, &err_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Array arr = Napi::Array::New(env, names_.size());
    for (size_t i = 0; i < names_.size(); i++) arr.Set(i, names_[i]);
    return arr;
  }

 private:
  std::vector<std::string> names_;
};

// One op from JS; "" when valid, else the field at fault.
std::string OpFromJs(const Napi::Object& o, Op* op) {
  std::string cmd = Str(o, "cmd");
  op->name = Str(o, "name");
  if (op->name.empty() || op->name.size() >= IPSET_MAXNAMELEN) return "name: 1.." + std::to_string(IPSET_MAXNAMELEN - 1) + " characters";
  if (cmd == "create") {
    op->cmd = IPSET_CMD_CREATE;
    op->type = Str(o, "type");
    if (op->type.empty() || op->type.size() >= IPSET_MAXNAMELEN) return "type: an ipset type name";
    op->revision = static_cast<uint8_t>(U32(o, "revision"));
    uint32_t family = U32(o, "family");
    if (family != 4 && family != 6) return "family: 4 or 6";
    op->family = family == 6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
    op->hashsize = U32(o, "hashsize");
    op->maxelem = U32(o, "maxelem");
    return "";
  }
  if (cmd == "destroy" || cmd == "flush") {
    op->cmd = cmd == "destroy" ? IPSET_CMD_DESTROY : IPSET_CMD_FLUSH;
    return "";
  }
  if (cmd == "swap") {
    op->cmd = IPSET_CMD_SWAP;
    op->name2 = Str(o, "name2");
    if (op->name2.empty() || op->name2.size() >= IPSET_MAXNAMELEN) return "name2: 1.." + std::to_string(IPSET_MAXNAMELEN - 1) + " characters";
    return "";
  }
  if (cmd == "add" || cmd == "del" || cmd == "test") {
    op->cmd = cmd == "add" ? IPSET_CMD_ADD : cmd == "del" ? IPSET_CMD_DEL : IPSET_CMD_TEST;
    Napi::Value e = o.Get("entry");
    if (!e.IsObject()) return "entry: object required";
    Napi::Object entry = e.As<Napi::Object>();
    if (inet_pton(AF_INET, Str(entry, "ip").c_str(), &op->entry.ip) != 1) return "entry.ip: not an IPv4 address";
    op->entry.has_ip2 = entry.Has("ip2") && !entry.Get("ip2").IsUndefined();
    if (op->entry.has_ip2 && inet_pton(AF_INET, Str(entry, "ip2").c_str(), &op->entry.ip2) != 1) return "entry.ip2: not an IPv4 address";
    op->entry.has_port = entry.Has("port") && !entry.Get("port").IsUndefined();
    if (!op->entry.has_port) return "";
    uint32_t port = U32(entry, "port");
    if (port > 65535) return "entry.port: out of range";
    op->entry.port = static_cast<uint16_t>(port);
    op->entry.proto = static_cast<uint8_t>(U32(entry, "proto"));
    return "";
  }
  return "cmd: one of create destroy flush swap add del test";
}

Napi::Value Batch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Options(info);
  Napi::Value list = o.Get("ops");
  if (!list.IsArray()) return ThrowError(env, "EINVAL", "ipset.batch", "ipsetBatch: ops array required");
  Napi::Array arr = list.As<Napi::Array>();
  std::vector<Op> ops(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    std::string e = v.IsObject() ? OpFromJs(v.As<Napi::Object>(), &ops[i]) : "object required";
    if (!e.empty()) return ThrowError(env, "EINVAL", "ipset.batch", "ops[" + std::to_string(i) + "]." + e);
  }
  NetnsTarget netns;
  std::string bad = NetnsFromJs(o.Get("netns"), &netns);
  if (!bad.empty()) return ThrowError(env, "EINVAL", "ipset.batch", "ipsetBatch: " + bad);
  auto* w = new BatchWorker(env, std::move(netns), std::move(ops));
  return w->Enqueue();
}

Napi::Value Names(const Napi::CallbackInfo& info) {
  NetnsTarget netns;
  std::string bad = NetnsFromJs(Options(info).Get("netns"), &netns);
  if (!bad.empty()) return ThrowError(info.Env(), "EINVAL", "ipset.names", "ipsetNames: " + bad);
  auto* w = new NamesWorker(info.Env(), std::move(netns));
  return w->Enqueue();
}

}  // namespace

void InitIpset(Napi::Env env, Napi::Object exports) {
  exports.Set("ipsetBatch", Napi::Function::New(env, Batch));
  exports.Set("ipsetNames", Napi::Function::New(env, Names));
}

}  // namespace svcproxy
