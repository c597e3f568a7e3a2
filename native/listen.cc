// listenTcp(): a listening TCP socket opened inside a network namespace.
// A socket keeps the namespace it was created in, so the worker enters the
// namespace, creates/binds/listens, and returns; JS adopts the fd with
// net.Server.listen({ fd }). Used for healthCheckNodePort servers, which a
// load balancer probes on the node's own addresses.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "args.h"
#include "error.h"
#include "exports.h"
#include "netns.h"

namespace svcproxy {
namespace {

// Parse "1.2.3.4", "::1", or "" (every IPv4 address).
bool ParseAddress(const std::string& text, uint16_t port, sockaddr_storage* ss, socklen_t* len) {
  std::memset(ss, 0, sizeof *ss);
  auto* v4 = reinterpret_cast<sockaddr_in*>(ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(ss);
  if (text.empty() || inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    *len = sizeof *v4;
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    *len = sizeof *v6;
    return true;
  }
  return false;
}

class ListenWorker : public PromiseWorker {
 public:
  ListenWorker(Napi::Env env, NetnsTarget netns, sockaddr_storage addr, socklen_t len, std::string where)
      : PromiseWorker(env), netns_(std::move(netns)), addr_(addr), len_(len), where_(std::move(where)) {}

 protected:
  void Run() override {
    NetnsGuard ns(netns_, &err_);
    if (!ns.ok()) return;
    int fd = socket(addr_.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return err_.SetErrno("listen", errno, "socket");
    int one = 1;
    // As Go's net.Listen (kube-proxy): a restart can bind while old connections sit in TIME_WAIT.
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr_), len_) != 0) return Fail(fd, "bind " + where_);
    if (listen(fd, SOMAXCONN) != 0) return Fail(fd, "listen " + where_);
    fd_ = fd;
  }

  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, fd_); }

 private:
  void Fail(int fd, const std::string& what) {
    err_.SetErrno("listen", errno, what);
    close(fd);
  }

  NetnsTarget netns_;
  sockaddr_storage addr_;
  socklen_t len_;
  std::string where_;
  int fd_ = -1;
};

// listenTcp({ netns?: handle|name|path, address?: string, port: number }) -> Promise<fd>
Napi::Value ListenTcp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Options(info);
  Napi::Value pv = o.Get("port");
  if (!pv.IsNumber() || pv.As<Napi::Number>().DoubleValue() < 1 || pv.As<Napi::Number>().DoubleValue() > 65535)
    return ThrowError(env, "EINVAL", "listen", "listenTcp: port must be 1-65535");
  uint16_t port = static_cast<uint16_t>(pv.As<Napi::Number>().Uint32Value());
  std::string address = Str(o, "address");
  sockaddr_storage ss;
  socklen_t len;
  if (!ParseAddress(address, port, &ss, &len))
    return ThrowError(env, "EINVAL", "listen", "listenTcp: address must be an IPv4 or IPv6 literal: " + address);
  std::string where = (address.empty() ? "0.0.0.0" : address) + ":" + std::to_string(port);
  NetnsTarget netns;
  std::string bad = NetnsFromJs(o.Get("netns"), &netns);
  if (!bad.empty()) return ThrowError(env, "EINVAL", "listen", "listenTcp: netns: " + bad);
  auto* w = new ListenWorker(env, std::move(netns), ss, len, where);
  return w->Enqueue();
}

}  // namespace

void InitListen(Napi::Env env, Napi::Object exports) { exports.Set("listenTcp", Napi::Function::New(env, ListenTcp)); }

}  // namespace svcproxy
