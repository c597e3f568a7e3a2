// One error shape for everything native. Workers fill a NativeError in
// Execute() (no JS there); OnError/OnOK turn it into an instance of the JS
// class registered at init (SvcproxyError), so callers get .code/.op/.errno.
#pragma once
#include <napi.h>
#include <string>

namespace svcproxy {

struct NativeError {
  int errnum = 0;        // kernel errno, 0 when the failure is not an errno
  std::string code;      // errno name ("ENOENT") or a svcproxy code ("ENOIPVS")
  std::string op;        // what was being done ("setns", "ipvs.newService")
  std::string message;   // readable detail, kernel's message where it gives one

  bool failed() const { return !code.empty(); }
  // Record errno for a failed syscall; keeps the first failure only.
  void SetErrno(const std::string& op, int err, const std::string& detail = "");
  void Set(const std::string& code, const std::string& op, const std::string& message);
};

// Name of an errno value ("EPERM"), or "E<number>" if unknown.
std::string ErrnoName(int err);

// Stores the JS error class given by the loader (src/native/binding.ts).
void RegisterErrorClass(Napi::Env env, Napi::Function cls);

// Build a JS SvcproxyError (falls back to Error before registration).
Napi::Value MakeError(Napi::Env env, const NativeError& e);

// Convenience for synchronous argument errors.
Napi::Value ThrowError(Napi::Env env, const std::string& code, const std::string& op,
                       const std::string& message);

// An AsyncWorker that settles a Promise and rejects with SvcproxyError.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  // Queue on the thread pool; the promise settles when the work is done.
  Napi::Promise Enqueue() {
    Napi::Promise p = Promise();
    Queue();
    return p;
  }
  // Run on the calling (JS) thread instead of the pool, settle, and delete
  // this: for small calls where the thread hand-off costs more than the work.
  Napi::Promise RunHere() {
    Napi::Promise p = Promise();
    Run();
    OnOK();
    delete this;
    return p;
  }

 protected:
  // Subclasses: do the work in Run(), fill err_ on failure.
  virtual void Run() = 0;
  // Subclasses: build the resolved value (JS thread).
  virtual Napi::Value Result(Napi::Env env) { return env.Undefined(); }
  NativeError err_;

 private:
  void Execute() override { Run(); }
  void OnOK() override;
  Napi::Promise::Deferred deferred_;
};

}  // namespace svcproxy
