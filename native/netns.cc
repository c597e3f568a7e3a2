#include "netns.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace svcproxy {

std::string NetnsPath(const std::string& name) {
  if (!name.empty() && name[0] == '/') return name;
  return "/run/netns/" + name;
}

NetnsGuard::NetnsGuard(const std::string& name, NativeError* err) {
  if (name.empty()) {
    ok_ = true;
    return;
  }
  if (name.find('/') != std::string::npos && name[0] != '/') {
    err->Set("EINVAL", "setns", "netns name must not contain '/': " + name);
    return;
  }
  std::string path = NetnsPath(name);
  int target = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    err->SetErrno("setns", errno, "open " + path);
    return;
  }
  saved_fd_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (saved_fd_ < 0) {
    err->SetErrno("setns", errno, "open /proc/thread-self/ns/net");
    close(target);
    return;
  }
  if (setns(target, CLONE_NEWNET) != 0) {
    err->SetErrno("setns", errno, path);
    close(target);
    close(saved_fd_);
    saved_fd_ = -1;
    return;
  }
  close(target);
  ok_ = true;
}

NetnsGuard::~NetnsGuard() {
  if (saved_fd_ < 0) return;
  // A pool thread left in a foreign namespace would run later work there.
  if (setns(saved_fd_, CLONE_NEWNET) != 0) {
    perror("svcproxy: cannot return to original network namespace");
    abort();
  }
  close(saved_fd_);
}

}  // namespace svcproxy
