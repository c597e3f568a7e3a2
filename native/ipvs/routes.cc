#include "routes.h"

#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "../args.h"
#include "../error.h"
#include "../netns.h"
#include "codec.h"
#include "genl.h"
#include "js.h"

namespace svcproxy::ipvs {
namespace {

// "10.96.0.1" / "fd00::1" -> Addr; false when it is neither.
bool ParseIp(const std::string& s, Addr* out) {
  if (inet_pton(AF_INET, s.c_str(), out->bytes) == 1) {
    out->family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), out->bytes) == 1) {
    out->family = AF_INET6;
    return true;
  }
  return false;
}

size_t AddrLen(const Addr& a) { return a.family == AF_INET6 ? 16 : 4; }

// struct rtmsg + RTA_DST + RTA_OIF + RTA_TABLE (linux/rtnetlink.h), a host route of type local.
Message RouteMessage(uint16_t type, uint16_t flags, uint32_t seq, const Addr& dst, uint32_t ifindex, uint8_t protocol) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | flags;
  nlh->nlmsg_seq = seq;
  auto* rtm = static_cast<struct rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(struct rtmsg)));
  rtm->rtm_family = static_cast<uint8_t>(dst.family);
  rtm->rtm_dst_len = static_cast<uint8_t>(AddrLen(dst) * 8);
  rtm->rtm_table = RT_TABLE_LOCAL;
  rtm->rtm_protocol = protocol;
  rtm->rtm_scope = RT_SCOPE_HOST;
  rtm->rtm_type = RTN_LOCAL;
  mnl_attr_put(nlh, RTA_DST, AddrLen(dst), dst.bytes);
  mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
  mnl_attr_put_u32(nlh, RTA_TABLE, RT_TABLE_LOCAL);
  const char* p = reinterpret_cast<const char*>(nlh);
  return Message(p, p + nlh->nlmsg_len);
}

// Base: enter the namespace, resolve the device, open an rtnetlink socket, then Work().
class RouteWorker : public PromiseWorker {
 public:
  RouteWorker(Napi::Env env, NetnsTarget netns, std::string dev, uint8_t protocol)
      : PromiseWorker(env), netns_(std::move(netns)), dev_(std::move(dev)), protocol_(protocol) {}

 protected:
  void Run() override {
    NetnsGuard ns(netns_, &err_);
    if (!ns.ok()) return;
    ifindex_ = if_nametoindex(dev_.c_str());
    if (ifindex_ == 0) {
      err_.SetErrno("ipvs.routes", errno, dev_);
      return;
    }
    NetlinkSocket sock(NETLINK_ROUTE, &err_);
    if (!sock.bound()) return;
    Work(sock);
  }
  virtual void Work(NetlinkSocket& sock) = 0;
  NetnsTarget netns_;
  std::string dev_;
  uint8_t protocol_;
  uint32_t ifindex_ = 0;
};

class SyncWorker : public RouteWorker {
 public:
  SyncWorker(Napi::Env env, NetnsTarget netns, std::string dev, uint8_t protocol, std::vector<Addr> del, std::vector<Addr> add)
      : RouteWorker(env, std::move(netns), std::move(dev), protocol), del_(std::move(del)), add_(std::move(add)) {}

 protected:
  void Work(NetlinkSocket& sock) override {
    std::vector<Message> msgs;
    msgs.reserve(del_.size() + add_.size());
    for (const Addr& a : del_) msgs.push_back(RouteMessage(RTM_DELROUTE, 0, sock.NextSeq(), a, ifindex_, protocol_));
    for (const Addr& a : add_) msgs.push_back(RouteMessage(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, sock.NextSeq(), a, ifindex_, protocol_));
    sock.Batch(msgs, &acks_, &err_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("errors", AckErrorsToJs(env, acks_));
    return o;
  }

 private:
  std::vector<Addr> del_, add_;
  std::vector<Ack> acks_;
};

class ListWorker : public RouteWorker {
 public:
  using RouteWorker::RouteWorker;

 protected:
  void Work(NetlinkSocket& sock) override {
    for (uint8_t family : {AF_INET, AF_INET6}) {
      char buf[MNL_SOCKET_BUFFER_SIZE];
      struct nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
      nlh->nlmsg_type = RTM_GETROUTE;
      nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
      auto* rtm = static_cast<struct rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(struct rtmsg)));
      rtm->rtm_family = family;
      Message req(buf, buf + nlh->nlmsg_len);
      bool ok = sock.Dump(req, [&](const struct nlmsghdr* r) {
        if (r->nlmsg_type != RTM_NEWROUTE) return;
        auto* m = static_cast<const struct rtmsg*>(mnl_nlmsg_get_payload(r));
        if (m->rtm_type != RTN_LOCAL || m->rtm_protocol != protocol_) return;
        uint32_t table = m->rtm_table, oif = 0;
        Addr dst;
        dst.family = m->rtm_family;
        bool has_dst = false;
        auto* a = static_cast<const struct nlattr*>(mnl_nlmsg_get_payload_offset(r, sizeof(struct rtmsg)));
        const char* end = static_cast<const char*>(mnl_nlmsg_get_payload_tail(r));
        for (; mnl_attr_ok(a, static_cast<int>(end - reinterpret_cast<const char*>(a))); a = mnl_attr_next(a)) {
          uint16_t t = mnl_attr_get_type(a);
          if (t == RTA_TABLE) table = mnl_attr_get_u32(a);
          if (t == RTA_OIF) oif = mnl_attr_get_u32(a);
          if (t == RTA_DST && mnl_attr_get_payload_len(a) == AddrLen(dst)) {
            std::memcpy(dst.bytes, mnl_attr_get_payload(a), AddrLen(dst));
            has_dst = true;
          }
        }
        if (table == RT_TABLE_LOCAL && oif == ifindex_ && has_dst && m->rtm_dst_len == AddrLen(dst) * 8) found_.push_back(dst);
      }, &err_);
      if (!ok) return;
    }
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Array arr = Napi::Array::New(env, found_.size());
    for (size_t i = 0; i < found_.size(); i++) arr.Set(i, AddrToString(found_[i]));
    return arr;
  }

 private:
  std::vector<Addr> found_;
};

// {netns, dev, protocol}: the common options; "" when valid, else a message naming the field.
std::string Common(const Napi::Object& o, NetnsTarget* netns, std::string* dev, uint8_t* protocol) {
  std::string bad = NetnsFromJs(o.Get("netns"), netns);
  if (!bad.empty()) return bad;
  *dev = Str(o, "dev");
  if (dev->empty() || dev->size() >= IFNAMSIZ) return "dev: interface name required";
  Napi::Value p = o.Get("protocol");
  if (!p.IsNumber() || p.As<Napi::Number>().Uint32Value() == 0 || p.As<Napi::Number>().Uint32Value() > 255) return "protocol: 1..255 required";
  *protocol = static_cast<uint8_t>(p.As<Napi::Number>().Uint32Value());
  return "";
}

std::string Addrs(const Napi::Object& o, const char* key, std::vector<Addr>* out) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return "";
  if (!v.IsArray()) return std::string(key) + ": array of addresses required";
  Napi::Array arr = v.As<Napi::Array>();
  out->resize(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value a = arr.Get(i);
    if (!a.IsString() || !ParseIp(a.As<Napi::String>().Utf8Value(), &(*out)[i]))
      return std::string(key) + "[" + std::to_string(i) + "]: not an IP address";
  }
  return "";
}

Napi::Value Sync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Options(info);
  NetnsTarget netns;
  std::string dev;
  uint8_t protocol = 0;
  std::vector<Addr> del, add;
  std::string e = Common(o, &netns, &dev, &protocol);
  if (e.empty()) e = Addrs(o, "del", &del);
  if (e.empty()) e = Addrs(o, "add", &add);
  if (!e.empty()) return ThrowError(env, "EINVAL", "ipvs.routes", "ipvsVipRoutes: " + e);
  auto* w = new SyncWorker(env, std::move(netns), dev, protocol, std::move(del), std::move(add));
  return w->Enqueue();
}

Napi::Value List(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Options(info);
  NetnsTarget netns;
  std::string dev;
  uint8_t protocol = 0;
  std::string e = Common(o, &netns, &dev, &protocol);
  if (!e.empty()) return ThrowError(env, "EINVAL", "ipvs.routes", "ipvsVipList: " + e);
  auto* w = new ListWorker(env, std::move(netns), dev, protocol);
  return w->Enqueue();
}

}  // namespace

void InitVipRoutes(Napi::Env env, Napi::Object exports) {
  exports.Set("ipvsVipRoutes", Napi::Function::New(env, Sync));
  exports.Set("ipvsVipList", Napi::Function::New(env, List));
}

}  // namespace svcproxy::ipvs
