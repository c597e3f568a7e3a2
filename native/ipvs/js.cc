#include "js.h"

#include <arpa/inet.h>

#include "../args.h"
#include "../error.h"

namespace svcproxy::ipvs {
namespace {

// Address string -> Addr; the family comes from the text when not given.
std::string ParseAddr(const Napi::Object& o, const char* key, int family, Addr* out) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) return std::string(key) + ": address string required";
  std::string s = v.As<Napi::String>().Utf8Value();
  if (family != 6 && inet_pton(AF_INET, s.c_str(), out->bytes) == 1) {
    out->family = AF_INET;
    return "";
  }
  if (family != 4 && inet_pton(AF_INET6, s.c_str(), out->bytes) == 1) {
    out->family = AF_INET6;
    return "";
  }
  return std::string(key) + ": not an IP address: " + s;
}

Napi::Value Big(Napi::Env env, uint64_t v) { return Napi::BigInt::New(env, v); }

Napi::Object StatsToJs(Napi::Env env, const Stats& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("conns", Big(env, s.conns));
  o.Set("inPkts", Big(env, s.inpkts));
  o.Set("outPkts", Big(env, s.outpkts));
  o.Set("inBytes", Big(env, s.inbytes));
  o.Set("outBytes", Big(env, s.outbytes));
  o.Set("cps", Big(env, s.cps));
  o.Set("inPps", Big(env, s.inpps));
  o.Set("outPps", Big(env, s.outpps));
  o.Set("inBps", Big(env, s.inbps));
  o.Set("outBps", Big(env, s.outbps));
  return o;
}

}  // namespace

std::string AddrToString(const Addr& a) {
  char buf[INET6_ADDRSTRLEN] = "";
  inet_ntop(a.family, a.bytes, buf, sizeof buf);
  return buf;
}

std::string ServiceFromJs(const Napi::Object& o, Service* s) {
  uint32_t family = U32(o, "family", 4);
  if (family != 4 && family != 6) return "service.family: 4 or 6";
  s->addr.family = family == 6 ? AF_INET6 : AF_INET;
  s->fwmark = U32(o, "fwmark", 0);
  if (s->fwmark == 0) {
    std::string e = ParseAddr(o, "address", family, &s->addr);
    if (!e.empty()) return "service." + e;
    s->protocol = static_cast<uint16_t>(U32(o, "protocol", IPPROTO_TCP));
    uint32_t port = U32(o, "port", 0);
    if (port > 65535) return "service.port: out of range";
    s->port = static_cast<uint16_t>(port);
  }
  Napi::Value sched = o.Get("scheduler");
  if (sched.IsString()) s->sched = sched.As<Napi::String>().Utf8Value();
  if (s->sched.size() >= 16) return "service.scheduler: longer than IP_VS_SCHEDNAME_MAXLEN";
  s->flags = U32(o, "flags", 0);
  s->timeout = U32(o, "timeout", 0);
  s->netmask = U32(o, "netmask", family == 6 ? 128 : 0xffffffffu);
  return "";
}

std::string DestFromJs(const Napi::Object& o, Dest* d) {
  uint32_t family = U32(o, "family", 0);
  std::string e = ParseAddr(o, "address", static_cast<int>(family), &d->addr);
  if (!e.empty()) return "dest." + e;
  uint32_t port = U32(o, "port", 0);
  if (port > 65535) return "dest.port: out of range";
  d->port = static_cast<uint16_t>(port);
  d->fwd = U32(o, "fwd", 0);
  d->weight = static_cast<int32_t>(U32(o, "weight", 1));
  d->u_thresh = U32(o, "upperThreshold", 0);
  d->l_thresh = U32(o, "lowerThreshold", 0);
  return "";
}

Napi::Object ServiceToJs(Napi::Env env, const Service& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("family", s.addr.family == AF_INET6 ? 6 : 4);
  o.Set("protocol", s.protocol);
  o.Set("address", s.fwmark ? "" : AddrToString(s.addr));
  o.Set("port", s.port);
  o.Set("fwmark", s.fwmark);
  o.Set("scheduler", s.sched);
  o.Set("flags", s.flags);
  o.Set("timeout", s.timeout);
  o.Set("netmask", s.netmask);
  o.Set("peName", s.pe_name);
  o.Set("stats", StatsToJs(env, s.stats));
  return o;
}

Napi::Object DestToJs(Napi::Env env, const Dest& d) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("family", d.addr.family == AF_INET6 ? 6 : 4);
  o.Set("address", AddrToString(d.addr));
  o.Set("port", d.port);
  o.Set("fwd", d.fwd);
  o.Set("weight", d.weight);
  o.Set("upperThreshold", d.u_thresh);
  o.Set("lowerThreshold", d.l_thresh);
  o.Set("activeConns", d.active);
  o.Set("inactiveConns", d.inactive);
  o.Set("persistConns", d.persist);
  o.Set("stats", StatsToJs(env, d.stats));
  return o;
}

Napi::Array AckErrorsToJs(Napi::Env env, const std::vector<Ack>& acks) {
  Napi::Array errors = Napi::Array::New(env);
  uint32_t n = 0;
  for (size_t i = 0; i < acks.size(); i++) {
    if (acks[i].err == 0) continue;
    Napi::Object e = Napi::Object::New(env);
    e.Set("index", static_cast<uint32_t>(i));
    e.Set("errno", acks[i].err);
    e.Set("code", ErrnoName(acks[i].err));
    errors.Set(n++, e);
  }
  return errors;
}

}  // namespace svcproxy::ipvs
