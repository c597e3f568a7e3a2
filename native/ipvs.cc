// IPVS bindings (generic netlink over libmnl, see native/ipvs/). A session
// keeps one socket open inside the requested network namespace
// (ipvs/session.h); calls run on a worker thread, or on the JS thread when
// asked to (`inline`, for small requests) and the socket is open and idle.
//
//   ipvsOpen({netns})                      -> session (opened on a worker inside netns)
//   ipvsClose({session})                   -> closes its socket (the next call reopens)
//   ipvsInfo({session})                    -> {versionCode, version, connTabSize}
//   ipvsDump({session, dests})             -> Service[] (each with dests[] when asked)
//   ipvsDests({session, services, inline}) -> (Dest[] | null)[]  (null: no such service)
//   ipvsBatch({session, ops, inline})      -> {sent, errors: [{index, errno, code}]}
//   ipvsGetTimeouts({session}) / ipvsSetTimeouts({session, tcp, tcpFin, udp})
//   ipvsSysctl({netns, set: {name: value}}) writes /proc/sys/net/ipv4/vs/<name>
//     in that namespace (sysctls under /proc/sys/net are per namespace of the
//     opening thread) and returns the previous values.
#include <fcntl.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <memory>
#include <mutex>

#include "args.h"
#include "error.h"
#include "exports.h"
#include "ipvs/codec.h"
#include "ipvs/genl.h"
#include "ipvs/js.h"
#include "ipvs/routes.h"
#include "ipvs/session.h"
#include "netns.h"

namespace svcproxy {
namespace {

using ipvs::Dest;
using ipvs::GenlSocket;
using ipvs::Message;
using ipvs::Service;
using ipvs::Session;
using SessionRef = std::shared_ptr<Session>;

// The session of an options object; empty (and a JS exception) when missing.
SessionRef SessionOf(const Napi::Object& o, const char* op) {
  Napi::Value v = o.Get("session");
  if (!v.IsExternal()) {
    ThrowError(o.Env(), "EINVAL", op, std::string(op) + ": session from ipvsOpen required");
    return nullptr;
  }
  return *v.As<Napi::External<SessionRef>>().Data();
}

Message Finish(const struct nlmsghdr* nlh) {
  const char* p = reinterpret_cast<const char*>(nlh);
  return Message(p, p + nlh->nlmsg_len);
}

// Base: take the session's socket (opening it in its namespace if needed), then Work().
class IpvsWorker : public PromiseWorker {
 public:
  IpvsWorker(Napi::Env env, SessionRef session) : PromiseWorker(env), session_(std::move(session)) {}

  // Inline when asked and the socket is open and free (no setns, no waiting on the JS thread).
  Napi::Value Start(bool want_inline) {
    if (want_inline) {
      std::unique_lock<std::mutex> lock(session_->mu, std::try_to_lock);
      if (lock.owns_lock() && session_->Open()) {
        held_ = std::move(lock);
        return RunHere();
      }
    }
    return Enqueue();
  }

 protected:
  void Run() override {
    std::unique_lock<std::mutex> lock = held_.owns_lock() ? std::move(held_) : std::unique_lock<std::mutex>(session_->mu);
    GenlSocket* sock = session_->Socket(&err_);
    if (sock != nullptr) Work(*sock);
  }
  virtual void Work(GenlSocket& sock) {}
  SessionRef session_;

 private:
  std::unique_lock<std::mutex> held_;
};

class OpenWorker : public IpvsWorker {
 public:
  using IpvsWorker::IpvsWorker;

 protected:
  Napi::Value Result(Napi::Env env) override {
    return Napi::External<SessionRef>::New(env, new SessionRef(session_), [](Napi::Env, SessionRef* s) { delete s; });
  }
};

class CloseWorker : public IpvsWorker {
 public:
  using IpvsWorker::IpvsWorker;

 protected:
  void Run() override {
    std::lock_guard<std::mutex> lock(session_->mu);
    session_->Close();
  }
};

class InfoWorker : public IpvsWorker {
 public:
  using IpvsWorker::IpvsWorker;

 protected:
  void Work(GenlSocket& sock) override {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr* nlh = sock.Begin(buf, IPVS_CMD_GET_INFO, 0);
    sock.Dump(Finish(nlh), [&](const struct nlmsghdr* r) {
      ipvs::ForEachAttr(r, [&](const struct nlattr* a) {
        if (mnl_attr_get_type(a) == IPVS_INFO_ATTR_VERSION) version_ = mnl_attr_get_u32(a);
        if (mnl_attr_get_type(a) == IPVS_INFO_ATTR_CONN_TAB_SIZE) size_ = mnl_attr_get_u32(a);
      });
    }, &err_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("versionCode", version_);
    o.Set("version", std::to_string((version_ >> 16) & 0xff) + "." + std::to_string((version_ >> 8) & 0xff) + "." +
                         std::to_string(version_ & 0xff));
    o.Set("connTabSize", size_);
    return o;
  }

 private:
  uint32_t version_ = 0, size_ = 0;
};

// Does the service exist? (A dest dump of a missing service is just empty.)
bool ServiceExists(GenlSocket& sock, const Service& svc, NativeError* err) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr* nlh = sock.Begin(buf, IPVS_CMD_GET_SERVICE, 0);
  ipvs::PutService(nlh, svc, false);
  NativeError e;
  if (sock.Dump(Finish(nlh), [](const struct nlmsghdr*) {}, &e)) return true;
  if (e.errnum != ESRCH) *err = e;
  return false;
}

// Dests of one service: IPVS_CMD_GET_DEST dump with the service identity.
bool DumpDests(GenlSocket& sock, const Service& svc, std::vector<Dest>* out, NativeError* err) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr* nlh = sock.Begin(buf, IPVS_CMD_GET_DEST, NLM_F_DUMP);
  ipvs::PutService(nlh, svc, false);
  return sock.Dump(Finish(nlh), [&](const struct nlmsghdr* r) {
    Dest d;
    if (ipvs::ParseDest(r, &d)) out->push_back(d);
  }, err);
}

class DumpWorker : public IpvsWorker {
 public:
  DumpWorker(Napi::Env env, SessionRef s, bool dests) : IpvsWorker(env, std::move(s)), with_dests_(dests) {}

 protected:
  void Work(GenlSocket& sock) override {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr* nlh = sock.Begin(buf, IPVS_CMD_GET_SERVICE, NLM_F_DUMP);
    if (!sock.Dump(Finish(nlh), [&](const struct nlmsghdr* r) {
          Service s;
          if (ipvs::ParseService(r, &s)) svcs_.push_back(s);
        }, &err_))
      return;
    if (!with_dests_) return;
    dests_.resize(svcs_.size());
    for (size_t i = 0; i < svcs_.size(); i++) {
      NativeError e;
      // A service deleted between the two dumps just has no dests.
      if (!DumpDests(sock, svcs_[i], &dests_[i], &e) && e.errnum != ESRCH && e.errnum != ENOENT) {
        err_ = e;
        return;
      }
    }
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Array arr = Napi::Array::New(env, svcs_.size());
    for (size_t i = 0; i < svcs_.size(); i++) {
      Napi::Object o = ipvs::ServiceToJs(env, svcs_[i]);
      if (with_dests_) {
        Napi::Array d = Napi::Array::New(env, dests_[i].size());
        for (size_t j = 0; j < dests_[i].size(); j++) d.Set(j, ipvs::DestToJs(env, dests_[i][j]));
        o.Set("dests", d);
      }
      arr.Set(i, o);
    }
    return arr;
  }

 private:
  bool with_dests_;
  std::vector<Service> svcs_;
  std::vector<std::vector<Dest>> dests_;
};

class DestsWorker : public IpvsWorker {
 public:
  DestsWorker(Napi::Env env, SessionRef s, std::vector<Service> svcs)
      : IpvsWorker(env, std::move(s)), svcs_(std::move(svcs)) {}

 protected:
  void Work(GenlSocket& sock) override {
    dests_.resize(svcs_.size());
    found_.assign(svcs_.size(), true);
    for (size_t i = 0; i < svcs_.size(); i++) {
      if (!DumpDests(sock, svcs_[i], &dests_[i], &err_)) return;
      // Dests prove the service exists; only an empty answer needs asking.
      if (dests_[i].empty()) found_[i] = ServiceExists(sock, svcs_[i], &err_);
      if (err_.failed()) return;
    }
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Array arr = Napi::Array::New(env, svcs_.size());
    for (size_t i = 0; i < svcs_.size(); i++) {
      if (!found_[i]) {
        arr.Set(i, env.Null());
        continue;
      }
      Napi::Array d = Napi::Array::New(env, dests_[i].size());
      for (size_t j = 0; j < dests_[i].size(); j++) d.Set(j, ipvs::DestToJs(env, dests_[i][j]));
      arr.Set(i, d);
    }
    return arr;
  }

 private:
  std::vector<Service> svcs_;
  std::vector<std::vector<Dest>> dests_;
  std::vector<bool> found_;
};

struct Op {
  uint8_t cmd;
  Service svc;
  Dest dest;
};

class BatchWorker : public IpvsWorker {
 public:
  BatchWorker(Napi::Env env, SessionRef s, std::vector<Op> ops)
      : IpvsWorker(env, std::move(s)), ops_(std::move(ops)) {}

 protected:
  void Work(GenlSocket& sock) override {
    std::vector<Message> msgs;
    msgs.reserve(ops_.size());
    char buf[MNL_SOCKET_BUFFER_SIZE];
    for (const Op& op : ops_) {
      struct nlmsghdr* nlh = sock.Begin(buf, op.cmd, 0);
      bool svc_full = op.cmd == IPVS_CMD_NEW_SERVICE || op.cmd == IPVS_CMD_SET_SERVICE;
      bool dest_cmd = op.cmd == IPVS_CMD_NEW_DEST || op.cmd == IPVS_CMD_SET_DEST || op.cmd == IPVS_CMD_DEL_DEST;
      ipvs::PutService(nlh, op.svc, svc_full);
      if (dest_cmd) ipvs::PutDest(nlh, op.dest, op.cmd != IPVS_CMD_DEL_DEST);
      msgs.push_back(Finish(nlh));
    }
    sock.Batch(msgs, &acks_, &err_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("sent", static_cast<uint32_t>(acks_.size()));
    o.Set("errors", ipvs::AckErrorsToJs(env, acks_));
    return o;
  }

 private:
  std::vector<Op> ops_;
  std::vector<ipvs::Ack> acks_;
};

class TimeoutsWorker : public IpvsWorker {
 public:
  TimeoutsWorker(Napi::Env env, SessionRef s, bool set, uint32_t tcp, uint32_t fin, uint32_t udp)
      : IpvsWorker(env, std::move(s)), set_(set), tcp_(tcp), fin_(fin), udp_(udp) {}

 protected:
  void Work(GenlSocket& sock) override {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    if (set_) {
      // Zero leaves a timeout unchanged (the kernel's convention).
      struct nlmsghdr* nlh = sock.Begin(buf, IPVS_CMD_SET_CONFIG, 0);
      mnl_attr_put_u32(nlh, IPVS_CMD_ATTR_TIMEOUT_TCP, tcp_);
      mnl_attr_put_u32(nlh, IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, fin_);
      mnl_attr_put_u32(nlh, IPVS_CMD_ATTR_TIMEOUT_UDP, udp_);
      std::vector<ipvs::Ack> acks;
      if (!sock.Batch({Finish(nlh)}, &acks, &err_)) return;
      if (acks[0].err) {
        err_.SetErrno("ipvs.setTimeouts", acks[0].err);
        return;
      }
    }
    struct nlmsghdr* nlh = sock.Begin(buf, IPVS_CMD_GET_CONFIG, 0);
    sock.Dump(Finish(nlh), [&](const struct nlmsghdr* r) {
      ipvs::ForEachAttr(r, [&](const struct nlattr* a) {
        uint16_t t = mnl_attr_get_type(a);
        if (t == IPVS_CMD_ATTR_TIMEOUT_TCP) tcp_ = mnl_attr_get_u32(a);
        if (t == IPVS_CMD_ATTR_TIMEOUT_TCP_FIN) fin_ = mnl_attr_get_u32(a);
        if (t == IPVS_CMD_ATTR_TIMEOUT_UDP) udp_ = mnl_attr_get_u32(a);
      });
    }, &err_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("tcp", tcp_);
    o.Set("tcpFin", fin_);
    o.Set("udp", udp_);
    return o;
  }

 private:
  bool set_;
  uint32_t tcp_, fin_, udp_;
};

class SysctlWorker : public PromiseWorker {
 public:
  SysctlWorker(Napi::Env env, NetnsTarget netns, std::map<std::string, std::string> set)
      : PromiseWorker(env), netns_(std::move(netns)), set_(std::move(set)) {}

 protected:
  void Run() override {
    NetnsGuard ns(netns_, &err_);
    if (!ns.ok()) return;
    for (auto& [name, value] : set_) {
      std::string path = "/proc/sys/net/ipv4/vs/" + name;
      int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
      if (fd < 0) {
        err_.SetErrno("ipvs.sysctl", errno, path);
        return;
      }
      char buf[64];
      ssize_t n = read(fd, buf, sizeof buf - 1);
      prev_[name] = n > 0 ? std::string(buf, buf[n - 1] == '\n' ? n - 1 : n) : "";
      if (pwrite(fd, value.data(), value.size(), 0) < 0) err_.SetErrno("ipvs.sysctl", errno, path + "=" + value);
      close(fd);
      if (err_.failed()) return;
    }
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    for (auto& [k, v] : prev_) o.Set(k, v);
    return o;
  }

 private:
  NetnsTarget netns_;
  std::map<std::string, std::string> set_;
  std::map<std::string, std::string> prev_;
};

bool Inline(const Napi::Object& o) { return o.Get("inline").ToBoolean(); }

Napi::Value Open(const Napi::CallbackInfo& info) {
  NetnsTarget netns;
  std::string bad = NetnsFromJs(Options(info).Get("netns"), &netns);
  if (!bad.empty()) return ThrowError(info.Env(), "EINVAL", "ipvs.open", "ipvsOpen: " + bad);
  return (new OpenWorker(info.Env(), std::make_shared<Session>(std::move(netns))))->Enqueue();
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  SessionRef s = SessionOf(Options(info), "ipvsClose");
  return s ? (new CloseWorker(info.Env(), s))->Enqueue() : info.Env().Undefined();
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  SessionRef s = SessionOf(Options(info), "ipvsInfo");
  return s ? (new InfoWorker(info.Env(), s))->Enqueue() : info.Env().Undefined();
}

Napi::Value DumpAll(const Napi::CallbackInfo& info) {
  Napi::Object o = Options(info);
  SessionRef s = SessionOf(o, "ipvsDump");
  return s ? (new DumpWorker(info.Env(), s, o.Get("dests").ToBoolean()))->Enqueue() : info.Env().Undefined();
}

Napi::Value Dests(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Options(info);
  SessionRef session = SessionOf(o, "ipvsDests");
  if (!session) return env.Undefined();
  Napi::Value list = o.Get("services");
  if (!list.IsArray()) return ThrowError(env, "EINVAL", "ipvs.dests", "ipvsDests: services array required");
  Napi::Array arr = list.As<Napi::Array>();
  std::vector<Service> svcs(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    std::string e = arr.Get(i).IsObject() ? ipvs::ServiceFromJs(arr.Get(i).As<Napi::Object>(), &svcs[i]) : "service: object required";
    if (!e.empty()) return ThrowError(env, "EINVAL", "ipvs.dests", "services[" + std::to_string(i) + "]." + e);
  }
  return (new DestsWorker(env, session, std::move(svcs)))->Start(Inline(o));
}

Napi::Value Batch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Options(info);
  SessionRef session = SessionOf(o, "ipvsBatch");
  if (!session) return env.Undefined();
  Napi::Value list = o.Get("ops");
  if (!list.IsArray()) return ThrowError(env, "EINVAL", "ipvs.batch", "ipvsBatch: ops array required");
  Napi::Array arr = list.As<Napi::Array>();
  std::vector<Op> ops(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    std::string where = "ops[" + std::to_string(i) + "].";
    Napi::Value v = arr.Get(i);
    if (!v.IsObject()) return ThrowError(env, "EINVAL", "ipvs.batch", where + ": object required");
    Napi::Object op = v.As<Napi::Object>();
    uint32_t cmd = op.Get("cmd").IsNumber() ? op.Get("cmd").As<Napi::Number>().Uint32Value() : 0;
    if (cmd < IPVS_CMD_NEW_SERVICE || cmd > IPVS_CMD_DEL_DEST || cmd == IPVS_CMD_GET_SERVICE)
      return ThrowError(env, "EINVAL", "ipvs.batch", where + "cmd: not a service/dest change command");
    ops[i].cmd = static_cast<uint8_t>(cmd);
    Napi::Value s = op.Get("service");
    std::string e = s.IsObject() ? ipvs::ServiceFromJs(s.As<Napi::Object>(), &ops[i].svc) : "service: object required";
    if (!e.empty()) return ThrowError(env, "EINVAL", "ipvs.batch", where + e);
    if (cmd >= IPVS_CMD_NEW_DEST) {
      Napi::Value d = op.Get("dest");
      e = d.IsObject() ? ipvs::DestFromJs(d.As<Napi::Object>(), &ops[i].dest) : "dest: object required";
      if (!e.empty()) return ThrowError(env, "EINVAL", "ipvs.batch", where + e);
    }
  }
  return (new BatchWorker(env, session, std::move(ops)))->Start(Inline(o));
}

Napi::Value GetTimeouts(const Napi::CallbackInfo& info) {
  SessionRef s = SessionOf(Options(info), "ipvsGetTimeouts");
  return s ? (new TimeoutsWorker(info.Env(), s, false, 0, 0, 0))->Enqueue() : info.Env().Undefined();
}

Napi::Value SetTimeouts(const Napi::CallbackInfo& info) {
  Napi::Object o = Options(info);
  SessionRef s = SessionOf(o, "ipvsSetTimeouts");
  if (!s) return info.Env().Undefined();
  return (new TimeoutsWorker(info.Env(), s, true, U32(o, "tcp"), U32(o, "tcpFin"), U32(o, "udp")))->Enqueue();
}

Napi::Value Sysctl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Options(info);
  Napi::Value setv = o.Get("set");
  if (!setv.IsObject()) return ThrowError(env, "EINVAL", "ipvs.sysctl", "ipvsSysctl: set object required");
  Napi::Object set = setv.As<Napi::Object>();
  Napi::Array keys = set.GetPropertyNames();
  std::map<std::string, std::string> writes;
  for (uint32_t i = 0; i < keys.Length(); i++) {
    std::string k = keys.Get(i).ToString().Utf8Value();
    // Names only, no paths: this writes net.ipv4.vs.* and nothing else.
    if (k.empty() || k.find_first_not_of("abcdefghijklmnopqrstuvwxyz_0123456789") != std::string::npos)
      return ThrowError(env, "EINVAL", "ipvs.sysctl", "ipvsSysctl: bad sysctl name " + k);
    writes[k] = set.Get(k).ToString().Utf8Value();
  }
  NetnsTarget netns;
  std::string bad = NetnsFromJs(o.Get("netns"), &netns);
  if (!bad.empty()) return ThrowError(env, "EINVAL", "ipvs.sysctl", "ipvsSysctl: " + bad);
  return (new SysctlWorker(env, std::move(netns), std::move(writes)))->Enqueue();
}

}  // namespace

void InitIpvs(Napi::Env env, Napi::Object exports) {
  exports.Set("ipvsOpen", Napi::Function::New(env, Open));
  exports.Set("ipvsClose", Napi::Function::New(env, Close));
  exports.Set("ipvsInfo", Napi::Function::New(env, Info));
  exports.Set("ipvsDump", Napi::Function::New(env, DumpAll));
  exports.Set("ipvsDests", Napi::Function::New(env, Dests));
  exports.Set("ipvsBatch", Napi::Function::New(env, Batch));
  exports.Set("ipvsGetTimeouts", Napi::Function::New(env, GetTimeouts));
  exports.Set("ipvsSetTimeouts", Napi::Function::New(env, SetTimeouts));
  exports.Set("ipvsSysctl", Napi::Function::New(env, Sysctl));
  ipvs::InitVipRoutes(env, exports);
}

}  // namespace svcproxy
