// bpffs mount/unmount for bpf mode's private bpffs (--bpffs auto). The
// mount(2)/umount2(2) calls only: where to mount, and whether a mount is
// ours to remove, is decided in src/dataplanes/bpf/bpffs.ts.
#include <sys/mount.h>

#include <cerrno>
#include <string>

#include "args.h"
#include "error.h"
#include "exports.h"

namespace svcproxy {
namespace {

class BpffsMountWorker : public PromiseWorker {
 public:
  BpffsMountWorker(Napi::Env env, std::string path, bool unmount)
      : PromiseWorker(env), path_(std::move(path)), unmount_(unmount) {}

 protected:
  void Run() override {
    if (unmount_) {
      // No MNT_DETACH: a busy mount stays, and the caller hears EBUSY.
      if (umount2(path_.c_str(), UMOUNT_NOFOLLOW) != 0) err_.SetErrno("bpffs.unmount", errno, path_);
      return;
    }
    // mode=0700: private to root, as systemd mounts /sys/fs/bpf.
    if (mount("bpffs", path_.c_str(), "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") != 0)
      err_.SetErrno("bpffs.mount", errno, path_);
  }

 private:
  std::string path_;
  bool unmount_;
};

Napi::Value Start(const Napi::CallbackInfo& info, bool unmount) {
  Napi::Env env = info.Env();
  const char* op = unmount ? "bpffs.unmount" : "bpffs.mount";
  std::string path = Str(Options(info), "path");
  if (path.empty() || path[0] != '/') return ThrowError(env, "EINVAL", op, "bpffs mount: an absolute path is required");
  return (new BpffsMountWorker(env, path, unmount))->Enqueue();
}

// bpffsMount({ path }): mount -t bpf bpffs PATH (PATH must exist)
Napi::Value BpffsMount(const Napi::CallbackInfo& info) { return Start(info, false); }
// bpffsUnmount({ path }): umount PATH
Napi::Value BpffsUnmount(const Napi::CallbackInfo& info) { return Start(info, true); }

}  // namespace

void InitMount(Napi::Env env, Napi::Object exports) {
  exports.Set("bpffsMount", Napi::Function::New(env, BpffsMount));
  exports.Set("bpffsUnmount", Napi::Function::New(env, BpffsUnmount));
}

}  // namespace svcproxy
