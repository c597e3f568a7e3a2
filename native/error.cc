#include "error.h"

#include <cerrno>
#include <cstring>

namespace svcproxy {

namespace {
// Per-environment addon state (napi instance data): each worker thread or
// context that loads the addon registers its own error class, and the
// environment frees it on teardown.
struct AddonState {
  Napi::FunctionReference errorClass;
};

AddonState* State(Napi::Env env) {
  AddonState* s = env.GetInstanceData<AddonState>();
  if (s == nullptr) {
    s = new AddonState();
    env.SetInstanceData<AddonState>(s);
  }
  return s;
}
}  // namespace

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name ? name : "E" + std::to_string(err);
}

void NativeError::SetErrno(const std::string& o, int err, const std::string& detail) {
  if (failed()) return;
  errnum = err;
  code = ErrnoName(err);
  op = o;
  message = o + ": " + strerror(err) + (detail.empty() ? "" : " (" + detail + ")");
}

void NativeError::Set(const std::string& c, const std::string& o, const std::string& m) {
  if (failed()) return;
  code = c;
  op = o;
  message = m;
}

void RegisterErrorClass(Napi::Env env, Napi::Function cls) {
  State(env)->errorClass = Napi::Persistent(cls);
}

Napi::Value MakeError(Napi::Env env, const NativeError& e) {
  Napi::Object details = Napi::Object::New(env);
  details.Set("code", e.code);
  details.Set("op", e.op);
  if (e.errnum != 0) details.Set("errno", e.errnum);
  Napi::FunctionReference& cls = State(env)->errorClass;
  if (!cls.IsEmpty()) {
    return cls.New({Napi::String::New(env, e.message), details});
  }
  Napi::Error err = Napi::Error::New(env, e.message);
  err.Set("code", e.code);
  err.Set("op", e.op);
  return err.Value();
}

Napi::Value ThrowError(Napi::Env env, const std::string& code, const std::string& op,
                       const std::string& message) {
  NativeError e;
  e.Set(code, op, message);
  Napi::Value v = MakeError(env, e);
  Napi::Error(env, v).ThrowAsJavaScriptException();
  return env.Undefined();
}

void PromiseWorker::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  if (err_.failed()) {
    deferred_.Reject(MakeError(env, err_));
  } else {
    deferred_.Resolve(Result(env));
  }
}

}  // namespace svcproxy
