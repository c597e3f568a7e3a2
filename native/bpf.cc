// bpf mode's native surface (libbpf): load/attach/pin, map batches, dumps,
// probes. Argument copying and result building only; the work is in bpf/.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>

#include "args.h"
#include "bpf/loader.h"
#include "bpf/log.h"
#include "bpf/maps.h"
#include "exports.h"

namespace svcproxy {
namespace {

std::vector<uint8_t> BufferField(Napi::Object o, const char* name) {
  Napi::Value v = o.Get(name);
  if (!v.IsBuffer()) return {};
  auto b = v.As<Napi::Buffer<uint8_t>>();
  return std::vector<uint8_t>(b.Data(), b.Data() + b.Length());
}

Napi::Array StringArray(Napi::Env env, const std::vector<std::string>& list) {
  Napi::Array a = Napi::Array::New(env, list.size());
  for (size_t i = 0; i < list.size(); i++) a.Set(uint32_t(i), list[i]);
  return a;
}

// A Buffer over the vector's memory, freed with the Buffer: a dump can be
// tens of MiB, not worth copying.
Napi::Buffer<uint8_t> HandOver(Napi::Env env, std::vector<uint8_t>&& bytes) {
  if (bytes.empty()) return Napi::Buffer<uint8_t>::New(env, 0);
  auto* held = new std::vector<uint8_t>(std::move(bytes));
  return Napi::Buffer<uint8_t>::New(
      env, held->data(), held->size(), [](Napi::Env, uint8_t*, std::vector<uint8_t>* v) { delete v; }, held);
}

// bpfProbe(): can this process use the bpf() syscall (a one-element map)?
class ProbeWorker : public PromiseWorker {
 public:
  using PromiseWorker::PromiseWorker;

 protected:
  void Run() override {
    int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "svp_probe", 4, 4, 1, nullptr);
    if (fd < 0) {
      errno_ = errno;
      return;
    }
    close(fd);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("libbpf", std::to_string(libbpf_major_version()) + "." + std::to_string(libbpf_minor_version()));
    o.Set("bpfErrno", errno_);
    o.Set("bpfCode", errno_ ? ErrnoName(errno_) : "");
    return o;
  }

 private:
  int errno_ = 0;
};

Napi::Value Probe(const Napi::CallbackInfo& info) {
  auto* w = new ProbeWorker(info.Env());
  return w->Enqueue();
}

class LoadWorker : public PromiseWorker {
 public:
  LoadWorker(Napi::Env env, bpf::LoadRequest req) : PromiseWorker(env), req_(std::move(req)) {}

 protected:
  void Run() override { bpf::Load(req_, &res_, &err_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("adopted", res_.adopted);
    o.Set("links", StringArray(env, res_.links));
    o.Set("maps", StringArray(env, res_.maps));
    return o;
  }

 private:
  bpf::LoadRequest req_;
  bpf::LoadResult res_;
};

// bpfLoad({ object, pinDir, cgroup })
Napi::Value Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) return ThrowError(env, "EINVAL", "bpf.load", "bpfLoad: options required");
  Napi::Object o = info[0].As<Napi::Object>();
  bpf::LoadRequest req{Str(o, "object"), Str(o, "pinDir"), Str(o, "cgroup")};
  if (req.object.empty() || req.pin_dir.empty() || req.cgroup.empty())
    return ThrowError(env, "EINVAL", "bpf.load", "bpfLoad: object, pinDir and cgroup are required");
  auto* w = new LoadWorker(env, std::move(req));
  return w->Enqueue();
}

class UnloadWorker : public PromiseWorker {
 public:
  UnloadWorker(Napi::Env env, std::string dir) : PromiseWorker(env), dir_(std::move(dir)) {}

 protected:
  void Run() override { bpf::Unload(dir_, &err_); }

 private:
  std::string dir_;
};

// bpfUnload({ pinDir })
Napi::Value Unload(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir = Str(Options(info), "pinDir");
  if (dir.empty()) return ThrowError(env, "EINVAL", "bpf.unload", "bpfUnload: pinDir required");
  auto* w = new UnloadWorker(env, std::move(dir));
  return w->Enqueue();
}

class MapOpsWorker : public PromiseWorker {
 public:
  MapOpsWorker(Napi::Env env, std::vector<bpf::MapOp> ops) : PromiseWorker(env), ops_(std::move(ops)) {}

 protected:
  void Run() override { bpf::RunMapOps(ops_, &err_); }

 private:
  std::vector<bpf::MapOp> ops_;
};

// bpfMapOps({ ops: [{ path, op: 'update'|'delete', keys: Buffer, values?: Buffer }] })
Napi::Value MapOps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Value list = Options(info).Get("ops");
  if (!list.IsArray()) return ThrowError(env, "EINVAL", "bpf.update", "bpfMapOps: ops: array of ops required");
  Napi::Array arr = list.As<Napi::Array>();
  std::vector<bpf::MapOp> ops;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsObject()) return ThrowError(env, "EINVAL", "bpf.update", "bpfMapOps: op must be an object");
    Napi::Object o = v.As<Napi::Object>();
    std::string kind = Str(o, "op");
    if (kind != "update" && kind != "delete") return ThrowError(env, "EINVAL", "bpf.update", "bpfMapOps: op must be update or delete");
    ops.push_back({Str(o, "path"), kind == "update" ? bpf::MapOpKind::kUpdate : bpf::MapOpKind::kDelete,
                   BufferField(o, "keys"), BufferField(o, "values")});
  }
  auto* w = new MapOpsWorker(env, std::move(ops));
  return w->Enqueue();
}

class DumpWorker : public PromiseWorker {
 public:
  DumpWorker(Napi::Env env, std::string path) : PromiseWorker(env), path_(std::move(path)) {}

 protected:
  void Run() override { bpf::DumpMap(path_, &dump_, &err_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("keySize", dump_.key_size);
    o.Set("valueSize", dump_.value_size);
    o.Set("count", dump_.count);
    o.Set("keys", HandOver(env, std::move(dump_.keys)));
    o.Set("values", HandOver(env, std::move(dump_.values)));
    return o;
  }

 private:
  std::string path_;
  bpf::MapDump dump_;
};

// bpfMapDump({ path })
Napi::Value MapDump(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = Str(Options(info), "path");
  if (path.empty()) return ThrowError(env, "EINVAL", "bpf.dump", "bpfMapDump: path required");
  auto* w = new DumpWorker(env, std::move(path));
  return w->Enqueue();
}

}  // namespace

void InitBpf(Napi::Env env, Napi::Object exports) {
  bpf::InstallLibbpfLog();
  exports.Set("bpfProbe", Napi::Function::New(env, Probe));
  exports.Set("bpfLoad", Napi::Function::New(env, Load));
  exports.Set("bpfUnload", Napi::Function::New(env, Unload));
  exports.Set("bpfMapOps", Napi::Function::New(env, MapOps));
  exports.Set("bpfMapDump", Napi::Function::New(env, MapDump));
}

}  // namespace svcproxy
