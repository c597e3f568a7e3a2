// Addon entry point: registers the error class and each concern's functions.
#include <napi.h>

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

// Check that a namespace can be entered (used by detect and --netns errors).
class NetnsCheckWorker : public PromiseWorker {
 public:
  NetnsCheckWorker(Napi::Env env, std::string name) : PromiseWorker(env), name_(std::move(name)) {}
 protected:
  void Run() override { NetnsGuard g(name_, &err_); }
 private:
  std::string name_;
};

Napi::Value CheckNetns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return ThrowError(env, "EINVAL", "setns", "checkNetns: name required");
  auto* w = new NetnsCheckWorker(env, info[0].As<Napi::String>().Utf8Value());
  return w->Enqueue();
}

}  // namespace

void InitNetns(Napi::Env env, Napi::Object exports) {
  exports.Set("checkNetns", Napi::Function::New(env, CheckNetns));
}

Napi::Object InitAll(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init));
  InitNetns(env, exports);
  InitExec(env, exports);
  InitNft(env, exports);
  InitIpvs(env, exports);
  InitIpset(env, exports);
  InitBpf(env, exports);
  return exports;
}

NODE_API_MODULE(svcproxy, InitAll)

}  // namespace svcproxy
