// Network namespaces for native calls. Namespaces are per thread, so a
// worker can setns() without affecting the JS thread; sockets opened inside
// stay in that namespace.
//
// A ServiceProxy opens its namespace ONCE (netnsOpen: an fd plus the
// namespace's identity, st_dev/st_ino of the nsfs file) and passes that
// handle to every call. Entering it checks the fd still names the same
// namespace, so neither a name deleted and created again under /run/netns
// nor an fd number closed and reused can send a call somewhere else.
#pragma once
#include <napi.h>
#include <sys/types.h>

#include <string>

#include "error.h"

namespace svcproxy {

struct NetnsTarget {
  std::string path;  // for messages; opened per call when there is no fd
  int fd = -1;       // a handle's fd (owned by the handle, never closed here)
  dev_t dev = 0;
  ino_t ino = 0;
  bool none() const { return fd < 0 && path.empty(); }  // stay where we are
};

// A binding's netns value: undefined/"" (stay), a name under /run/netns or an
// absolute path (opened per call: tools and tests), or a handle
// {path, fd, dev, ino} from netnsOpen. "" when valid, else what is wrong.
std::string NetnsFromJs(const Napi::Value& v, NetnsTarget* out);

class NetnsGuard {
 public:
  // On failure err is set and nothing changed.
  NetnsGuard(const NetnsTarget& target, NativeError* err);
  ~NetnsGuard();  // returns to the original namespace (aborts if it cannot)
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;
  bool ok() const { return ok_; }

 private:
  void Enter(int target, const std::string& path, NativeError* err);
  int saved_fd_ = -1;
  bool ok_ = false;
};

// Open a name/path for a handle: a new O_CLOEXEC fd (caller owns it) with
// its identity filled in, or -1 with err set.
int OpenNetns(NetnsTarget* target, NativeError* err);

}  // namespace svcproxy
