#include "netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace svcproxy {
namespace {

// "/run/netns/NAME" for a bare name, the path itself when absolute; "" for a name with '/'.
std::string ResolvePath(const std::string& name) {
  if (name.empty()) return "";
  if (name[0] == '/') return name;
  if (name.find('/') != std::string::npos) return "";
  return "/run/netns/" + name;
}

// A handle's fd, if it still names the namespace it was opened on; else -1.
int CheckedFd(const NetnsTarget& t, NativeError* err) {
  struct stat st;
  if (fstat(t.fd, &st) != 0 || st.st_dev != t.dev || st.st_ino != t.ino) {
    err->Set("ESTALE", "setns", "namespace handle for " + t.path + " is closed (fd " + std::to_string(t.fd) +
                                    " no longer names that namespace)");
    return -1;
  }
  return t.fd;
}

bool NumberField(const Napi::Object& o, const char* key, double* out) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) return false;
  *out = v.As<Napi::Number>().DoubleValue();
  return *out >= 0;
}

}  // namespace

std::string NetnsFromJs(const Napi::Value& v, NetnsTarget* out) {
  if (v.IsUndefined() || v.IsNull()) return "";
  if (v.IsString()) {
    out->path = v.As<Napi::String>().Utf8Value();
    if (!out->path.empty() && ResolvePath(out->path).empty()) return "netns: a name must not contain '/': " + out->path;
    return "";
  }
  if (!v.IsObject()) return "netns: a name, a path or a handle from netnsOpen";
  Napi::Object o = v.As<Napi::Object>();
  double fd, dev, ino;
  if (!NumberField(o, "fd", &fd) || !NumberField(o, "dev", &dev) || !NumberField(o, "ino", &ino))
    return "netns: handle needs numeric fd, dev and ino (from netnsOpen)";
  out->fd = static_cast<int>(fd);
  out->dev = static_cast<dev_t>(dev);
  out->ino = static_cast<ino_t>(ino);
  Napi::Value p = o.Get("path");
  out->path = p.IsString() ? p.As<Napi::String>().Utf8Value() : "fd " + std::to_string(out->fd);
  return "";
}

int OpenNetns(NetnsTarget* t, NativeError* err) {
  std::string path = ResolvePath(t->path);
  if (path.empty()) {
    err->Set("EINVAL", "setns", "netns: a name (without '/') or an absolute path required, got \"" + t->path + "\"");
    return -1;
  }
  t->path = path;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    err->SetErrno("setns", errno, "open " + path);
    if (fd >= 0) close(fd);
    return -1;
  }
  t->dev = st.st_dev;
  t->ino = st.st_ino;
  return fd;
}

NetnsGuard::NetnsGuard(const NetnsTarget& t, NativeError* err) {
  if (t.none()) {
    ok_ = true;
    return;
  }
  if (t.fd >= 0) {
    int fd = CheckedFd(t, err);
    if (fd >= 0) Enter(fd, t.path, err);
    return;
  }
  NetnsTarget once = t;
  int fd = OpenNetns(&once, err);
  if (fd < 0) return;
  Enter(fd, once.path, err);
  close(fd);
}

void NetnsGuard::Enter(int target, const std::string& path, NativeError* err) {
  saved_fd_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (saved_fd_ < 0) {
    err->SetErrno("setns", errno, "open /proc/thread-self/ns/net");
    return;
  }
  if (setns(target, CLONE_NEWNET) != 0) {
    err->SetErrno("setns", errno, path);
    close(saved_fd_);
    saved_fd_ = -1;
    return;
  }
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
