#include "error.h"

#include <cerrno>
#include <cstring>

namespace svcproxy {

static Napi::FunctionReference* g_error_class = nullptr;

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
  if (g_error_class == nullptr) g_error_class = new Napi::FunctionReference();
  *g_error_class = Napi::Persistent(cls);
}

Napi::Value MakeError(Napi::Env env, const NativeError& e) {
  Napi::Object details = Napi::Object::New(env);
  details.Set("code", e.code);
  details.Set("op", e.op);
  if (e.errnum != 0) details.Set("errno", e.errnum);
  if (g_error_class != nullptr && !g_error_class->IsEmpty()) {
    return g_error_class->New({Napi::String::New(env, e.message), details});
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
