// nftables through libnftables, in-process: one nft_ctx per network
// namespace, commands as one buffer = one atomic netlink transaction.
//
// libnftables 1.0.6 opens its netlink socket inside nft_ctx_new() (checked:
// the socket appears right after nft_ctx_new, before any command), so the
// context is created on a worker thread inside a NetnsGuard; the socket then
// stays bound to that namespace. Commands also run inside the guard because
// libnftables may reopen the socket and resolves names (fib, ifnames) in the
// calling thread's namespace.
//
// Every binding takes one options object (args.h):
//   nftOpen({netns})                          -> Promise<handle>  (nft_ctx_new in netns)
//   nftRun({handle, commands, json})          -> Promise<string>  (output buffer)
//   nftElements({handle, packed})             -> Promise<{messages, elements}>
//                                                (set elements in one raw netlink batch: nft/elements.h)
//   nftDumpSet({handle, family, table, set})  -> Promise<{count, data}>
//                                                (a set's elements over raw netlink: nft/dump.h)
//   nftClose({handle})                        -> Promise<void>
//
// Failures reject with SvcproxyError code "ENFTABLES" carrying libnftables'
// error buffer (which holds the kernel's reason); libnftables does not expose
// the errno, and we do not guess it from the text.
#include <linux/netfilter.h>
#include <nftables/libnftables.h>

#include <mutex>
#include <string>
#include <vector>

#include "args.h"
#include "error.h"
#include "exports.h"
#include "netns.h"
#include "nft/dump.h"
#include "nft/elements.h"

namespace svcproxy {
namespace {

struct NftHandle {
  NetnsTarget netns;
  std::mutex mu;               // one command at a time per context
  struct nft_ctx* ctx = nullptr;
  struct mnl_socket* batch = nullptr;  // element batches (nft/elements.h), opened on first use in netns
  uint32_t seq = 1;
};

void FreeHandle(NftHandle* h) {
  std::lock_guard<std::mutex> lock(h->mu);
  if (h->ctx != nullptr) nft_ctx_free(h->ctx);
  h->ctx = nullptr;
  nft::CloseBatchSocket(h->batch);
  h->batch = nullptr;
}

// The JS object owns the handle; GC frees it if close() was never called.
Napi::Value WrapHandle(Napi::Env env, NftHandle* h) {
  return Napi::External<NftHandle>::New(env, h, [](Napi::Env, NftHandle* p) {
    FreeHandle(p);
    delete p;
  });
}

NftHandle* UnwrapHandle(const Napi::Value& v) {
  if (!v.IsExternal()) return nullptr;
  return v.As<Napi::External<NftHandle>>().Data();
}

class OpenWorker : public PromiseWorker {
 public:
  OpenWorker(Napi::Env env, NetnsTarget netns) : PromiseWorker(env), netns_(std::move(netns)) {}

 protected:
  void Run() override {
    NetnsGuard ns(netns_, &err_);
    if (!ns.ok()) return;
    ctx_ = nft_ctx_new(NFT_CTX_DEFAULT);
    if (ctx_ == nullptr) {
      err_.Set("ENFTABLES", "nft.open", "nft_ctx_new failed (cannot open a netfilter netlink socket)");
      return;
    }
    if (nft_ctx_buffer_output(ctx_) != 0 || nft_ctx_buffer_error(ctx_) != 0) {
      err_.Set("ENFTABLES", "nft.open", "libnftables: cannot buffer output/error");
      nft_ctx_free(ctx_);
      ctx_ = nullptr;
    }
  }

  Napi::Value Result(Napi::Env env) override {
    auto* h = new NftHandle();
    h->netns = netns_;
    h->ctx = ctx_;
    return WrapHandle(env, h);
  }

 private:
  NetnsTarget netns_;
  struct nft_ctx* ctx_ = nullptr;
};

// The work on an open context: holds the JS handle alive while queued, runs
// one command at a time per context, inside the context's namespace.
class ContextWorker : public PromiseWorker {
 public:
  ContextWorker(Napi::Env env, Napi::Value owner, NftHandle* h, const char* op) : PromiseWorker(env), h_(h), op_(op) {
    owner_ = Napi::Persistent(owner);
  }

 protected:
  void Run() final {
    std::lock_guard<std::mutex> lock(h_->mu);  // ordered with every other call on the context
    if (h_->ctx == nullptr) return err_.Set("ENFTABLES", op_, "nftables context is closed");
    NetnsGuard ns(h_->netns, &err_);
    if (ns.ok()) RunInContext();
  }
  virtual void RunInContext() = 0;
  NftHandle* h_;

 private:
  Napi::Reference<Napi::Value> owner_;
  const char* op_;
};

class RunWorker : public ContextWorker {
 public:
  RunWorker(Napi::Env env, Napi::Value owner, NftHandle* h, std::string cmd, bool json)
      : ContextWorker(env, owner, h, "nft.run"), cmd_(std::move(cmd)), json_(json) {}

 protected:
  void RunInContext() override {
    unsigned flags = json_ ? NFT_CTX_OUTPUT_JSON : 0;
    nft_ctx_output_set_flags(h_->ctx, flags);
    int rc = nft_run_cmd_from_buffer(h_->ctx, cmd_.c_str());
    const char* out = nft_ctx_get_output_buffer(h_->ctx);
    const char* errbuf = nft_ctx_get_error_buffer(h_->ctx);
    if (out != nullptr) out_ = out;
    if (rc != 0) {
      std::string msg = errbuf != nullptr && *errbuf != '\0' ? errbuf : "libnftables refused the commands";
      while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
      err_.Set("ENFTABLES", "nft.run", msg);
    }
  }

  Napi::Value Result(Napi::Env env) override { return Napi::String::New(env, out_); }

 private:
  std::string cmd_;
  bool json_;
  std::string out_;
};

class ElementsWorker : public ContextWorker {
 public:
  ElementsWorker(Napi::Env env, Napi::Value owner, NftHandle* h, std::vector<uint8_t> packed)
      : ContextWorker(env, owner, h, "nft.elements"), packed_(std::move(packed)) {}

 protected:
  void RunInContext() override {
    if (h_->batch == nullptr) h_->batch = nft::OpenBatchSocket(&err_);
    if (h_->batch == nullptr) return;
    nft::SendElementBatch(h_->batch, &h_->seq, packed_, &res_, &err_);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("messages", Napi::Number::New(env, res_.messages));
    o.Set("elements", Napi::Number::New(env, res_.elements));
    return o;
  }

 private:
  std::vector<uint8_t> packed_;
  nft::ElementBatchResult res_;
};

class DumpWorker : public ContextWorker {
 public:
  DumpWorker(Napi::Env env, Napi::Value owner, NftHandle* h, uint8_t family, std::string table, std::string set)
      : ContextWorker(env, owner, h, "nft.dump"), family_(family), table_(std::move(table)), set_(std::move(set)) {}

 protected:
  void RunInContext() override {
    nft::DumpSetElements(family_, table_, set_, &data_, &count_, &err_);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("count", Napi::Number::New(env, count_));
    o.Set("data", Napi::Buffer<uint8_t>::Copy(env, data_.data(), data_.size()));
    return o;
  }

 private:
  uint8_t family_;
  std::string table_, set_;
  std::vector<uint8_t> data_;
  uint32_t count_ = 0;
};

class CloseWorker : public PromiseWorker {
 public:
  CloseWorker(Napi::Env env, Napi::Value owner, NftHandle* h) : PromiseWorker(env), h_(h) {
    owner_ = Napi::Persistent(owner);
  }

 protected:
  void Run() override { FreeHandle(h_); }

 private:
  Napi::Reference<Napi::Value> owner_;
  NftHandle* h_;
};

// The open context named by o.handle; nullptr (with a JS exception thrown) when it is not one.
NftHandle* HandleOf(const Napi::Object& o, const char* op, const char* fn) {
  NftHandle* h = UnwrapHandle(o.Get("handle"));
  if (h == nullptr) ThrowError(o.Env(), "EINVAL", op, std::string(fn) + ": handle: a handle from nftOpen required");
  return h;
}

Napi::Value NftOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NetnsTarget netns;
  Napi::Object o = Options(info);
  std::string bad = NetnsFromJs(o.Get("netns"), &netns);
  if (!bad.empty()) return ThrowError(env, "EINVAL", "nft.open", "nftOpen: " + bad);
  return (new OpenWorker(env, std::move(netns)))->Enqueue();
}

Napi::Value NftRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Options(info);
  NftHandle* h = HandleOf(o, "nft.run", "nftRun");
  if (h == nullptr) return env.Undefined();
  if (!o.Get("commands").IsString()) return ThrowError(env, "EINVAL", "nft.run", "nftRun: commands: text required");
  auto* w = new RunWorker(env, o.Get("handle"), h, Str(o, "commands"), o.Get("json").ToBoolean().Value());
  return w->Enqueue();
}

Napi::Value NftElements(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Options(info);
  NftHandle* h = HandleOf(o, "nft.elements", "nftElements");
  if (h == nullptr) return env.Undefined();
  Napi::Value v = o.Get("packed");
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    return ThrowError(env, "EINVAL", "nft.elements", "nftElements: packed: element buffer (Uint8Array) required");
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  std::vector<uint8_t> packed(a.Data(), a.Data() + a.ByteLength());  // copied: the worker must not touch JS memory
  return (new ElementsWorker(env, o.Get("handle"), h, std::move(packed)))->Enqueue();
}

Napi::Value NftDumpSet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Options(info);
  NftHandle* h = HandleOf(o, "nft.dump", "nftDumpSet");
  if (h == nullptr) return env.Undefined();
  uint32_t family = U32(o, "family");
  if (family != 4 && family != 6) return ThrowError(env, "EINVAL", "nft.dump", "nftDumpSet: family: 4 or 6 required");
  if (!o.Get("table").IsString() || !o.Get("set").IsString())
    return ThrowError(env, "EINVAL", "nft.dump", "nftDumpSet: table and set: names required");
  auto* w = new DumpWorker(env, o.Get("handle"), h, family == 4 ? NFPROTO_IPV4 : NFPROTO_IPV6, Str(o, "table"), Str(o, "set"));
  return w->Enqueue();
}

Napi::Value NftClose(const Napi::CallbackInfo& info) {
  Napi::Object o = Options(info);
  NftHandle* h = HandleOf(o, "nft.close", "nftClose");
  if (h == nullptr) return info.Env().Undefined();
  return (new CloseWorker(info.Env(), o.Get("handle"), h))->Enqueue();
}

}  // namespace

void InitNft(Napi::Env env, Napi::Object exports) {
  exports.Set("nftOpen", Napi::Function::New(env, NftOpen));
  exports.Set("nftRun", Napi::Function::New(env, NftRun));
  exports.Set("nftElements", Napi::Function::New(env, NftElements));
  exports.Set("nftDumpSet", Napi::Function::New(env, NftDumpSet));
  exports.Set("nftClose", Napi::Function::New(env, NftClose));
}

}  // namespace svcproxy
