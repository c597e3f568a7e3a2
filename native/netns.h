// Enter a network namespace on the calling thread and come back.
// Network namespaces are per thread, so a worker can setns() without
// affecting the JS thread; sockets opened inside stay in that namespace.
#pragma once
#include <string>
#include "error.h"

namespace svcproxy {

class NetnsGuard {
 public:
  // name: "" (stay), a name under /run/netns, or an absolute path
  // (/proc/PID/ns/net). On failure err is set and nothing changed.
  NetnsGuard(const std::string& name, NativeError* err);
  ~NetnsGuard();  // returns to the original namespace (aborts if it cannot)
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;
  bool ok() const { return ok_; }

 private:
  int saved_fd_ = -1;
  bool ok_ = false;
};

// "/run/netns/NAME" for a bare name, the path itself when absolute.
std::string NetnsPath(const std::string& name);

}  // namespace svcproxy
