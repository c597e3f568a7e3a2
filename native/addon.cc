// Addon entry point: registers the error class, the namespace handle
// functions and each concern's functions.
#include <napi.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "error.h"
#include "exports.h"
#include "netns.h"

namespace svcproxy {
namespace {

// init({ SvcproxyError }): called once by the loader before anything else.
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) return ThrowError(env, "EINVAL", "init", "init: options object required");
  Napi::Value cls = info[0].As<Napi::Object>().Get("SvcproxyError");
  if (!cls.IsFunction()) return ThrowError(env, "EINVAL", "init", "init: SvcproxyError class required");
  RegisterErrorClass(env, cls.As<Napi::Function>());
  return env.Undefined();
}

// Open a namespace once and prove it can be entered (a net namespace, and
// we may setns into it); the fd stays open until netnsClose.
class NetnsOpenWorker : public PromiseWorker {
 public:
  NetnsOpenWorker(Napi::Env env, std::string path) : PromiseWorker(env) { target_.path = std::move(path); }

 protected:
  void Run() override {
    int fd = OpenNetns(&target_, &err_);
    if (fd < 0) return;
    target_.fd = fd;
    { NetnsGuard probe(target_, &err_); }
    if (!err_.failed()) return;
    close(fd);
    target_.fd = -1;
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("path", target_.path);
    o.Set("fd", target_.fd);
    o.Set("dev", static_cast<double>(target_.dev));
    o.Set("ino", static_cast<double>(target_.ino));
    return o;
  }

 private:
  NetnsTarget target_;
};

// netnsOpen({path}) -> Promise<{path, fd, dev, ino}>
Napi::Value NetnsOpen(const Napi::CallbackInfo& info) {
  std::string path = Str(Options(info), "path");
  if (path.empty()) return ThrowError(info.Env(), "EINVAL", "setns", "netnsOpen: path: a name or an absolute path required");
  return (new NetnsOpenWorker(info.Env(), std::move(path)))->Enqueue();
}

// netnsClose({handle}) -> true when this closed it; false when it was closed
// already (its fd number no longer names that namespace: not ours to close).
Napi::Value NetnsClose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NetnsTarget t;
  std::string e = NetnsFromJs(Options(info).Get("handle"), &t);
  if (e.empty() && t.fd < 0) e = "netns: handle from netnsOpen required";
  if (!e.empty()) return ThrowError(env, "EINVAL", "setns", "netnsClose: " + e);
  struct stat st;
  bool same = fstat(t.fd, &st) == 0 && st.st_dev == t.dev && st.st_ino == t.ino;
  if (same) close(t.fd);
  return Napi::Boolean::New(env, same);
}

}  // namespace

void InitNetns(Napi::Env env, Napi::Object exports) {
  exports.Set("netnsOpen", Napi::Function::New(env, NetnsOpen));
  exports.Set("netnsClose", Napi::Function::New(env, NetnsClose));
}

Napi::Object InitAll(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init));
  InitNetns(env, exports);
  InitExec(env, exports);
  InitNft(env, exports);
  InitIpvs(env, exports);
  InitIpset(env, exports);
  InitBpf(env, exports);
  InitListen(env, exports);
  InitMount(env, exports);
  return exports;
}

NODE_API_MODULE(svcproxy, InitAll)

}  // namespace svcproxy
