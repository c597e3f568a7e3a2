// exec(): run a program inside a network namespace with stdin fed from a
// buffer, collecting stdout/stderr. Used for iptables-restore/-save, which
// have no library API. The child inherits the worker thread's namespace.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <string>
#include <vector>

#include "error.h"
#include "exports.h"
#include "netns.h"

extern char** environ;

namespace svcproxy {
namespace {

struct ExecResult {
  int status = -1;
  int signal = 0;
  std::string out;
  std::string err;
};

class ExecWorker : public PromiseWorker {
 public:
  ExecWorker(Napi::Env env, std::vector<std::string> argv, std::string input, NetnsTarget netns)
      : PromiseWorker(env), argv_(std::move(argv)), input_(std::move(input)), netns_(std::move(netns)) {}

 protected:
  void Run() override {
    NetnsGuard ns(netns_, &err_);
    if (!ns.ok()) return;
    Spawn();
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("status", res_.status);
    o.Set("signal", res_.signal);
    o.Set("stdout", Napi::Buffer<char>::Copy(env, res_.out.data(), res_.out.size()));
    o.Set("stderr", Napi::Buffer<char>::Copy(env, res_.err.data(), res_.err.size()));
    return o;
  }

 private:
  void Spawn() {
    int in[2], out[2], errp[2];
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
      err_.SetErrno("exec", errno, "pipe");
      return;
    }
    pid_t pid;
    int rc = SpawnChild(argv_, {in[0], out[1], errp[1]}, &pid);
    close(in[0]);
    close(out[1]);
    close(errp[1]);
    if (rc != 0) {
      close(in[1]);
      close(out[0]);
      close(errp[0]);
      err_.SetErrno("exec", rc, argv_[0]);
      return;
    }
    Pump(in[1], out[0], errp[0]);
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(wstatus)) res_.status = WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus)) res_.signal = WTERMSIG(wstatus);
  }

  // posix_spawnp argv with fds 0, 1, 2 on `stdio` and default signal
  // dispositions and mask (node changes them); 0 or the spawn errno.
  static int SpawnChild(const std::vector<std::string>& argv, std::array<int, 3> stdio, pid_t* pid) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    for (int fd = 0; fd < 3; fd++) posix_spawn_file_actions_adddup2(&fa, stdio[fd], fd);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int rc = posix_spawnp(pid, args[0], &fa, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return rc;
  }

  // Write stdin and drain stdout/stderr together so neither pipe fills up.
  void Pump(int in_fd, int out_fd, int err_fd) {
    size_t written = 0;
    fcntl(in_fd, F_SETFL, O_NONBLOCK);
    if (input_.empty()) {
      close(in_fd);
      in_fd = -1;
    }
    char buf[65536];
    while (out_fd >= 0 || err_fd >= 0) {
      struct pollfd p[3];
      int n = 0;
      int idx_in = -1, idx_out = -1, idx_err = -1;
      if (in_fd >= 0) { idx_in = n; p[n++] = {in_fd, POLLOUT, 0}; }
      if (out_fd >= 0) { idx_out = n; p[n++] = {out_fd, POLLIN, 0}; }
      if (err_fd >= 0) { idx_err = n; p[n++] = {err_fd, POLLIN, 0}; }
      if (poll(p, n, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (idx_in >= 0 && p[idx_in].revents) {
        ssize_t w = write(in_fd, input_.data() + written, input_.size() - written);
        if (w > 0) written += w;
        if (w < 0 && errno != EAGAIN && errno != EINTR) written = input_.size();  // EPIPE: child quit
        if (written >= input_.size()) { close(in_fd); in_fd = -1; }
      }
      for (auto [idx, fdp, dst] : {std::tuple{idx_out, &out_fd, &res_.out}, std::tuple{idx_err, &err_fd, &res_.err}}) {
        if (idx < 0 || !p[idx].revents) continue;
        ssize_t r = read(*fdp, buf, sizeof buf);
        if (r > 0) dst->append(buf, r);
        else if (r == 0 || (errno != EINTR && errno != EAGAIN)) { close(*fdp); *fdp = -1; }
      }
    }
    if (in_fd >= 0) close(in_fd);
  }

  std::vector<std::string> argv_;
  std::string input_;
  NetnsTarget netns_;
  ExecResult res_;
};

// exec({ argv: string[], input?: Buffer|string, netns?: handle|name|path }) -> Promise
Napi::Value Exec(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) return ThrowError(env, "EINVAL", "exec", "exec: options object required");
  Napi::Object o = info[0].As<Napi::Object>();
  Napi::Value av = o.Get("argv");
  if (!av.IsArray() || av.As<Napi::Array>().Length() == 0) return ThrowError(env, "EINVAL", "exec", "exec: argv must be a non-empty array");
  std::vector<std::string> argv;
  Napi::Array arr = av.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); i++) argv.push_back(arr.Get(i).ToString().Utf8Value());
  std::string input;
  Napi::Value iv = o.Get("input");
  if (iv.IsBuffer()) {
    auto b = iv.As<Napi::Buffer<char>>();
    input.assign(b.Data(), b.Length());
  } else if (iv.IsString()) {
    input = iv.As<Napi::String>().Utf8Value();
  }
  NetnsTarget netns;
  std::string bad = NetnsFromJs(o.Get("netns"), &netns);
  if (!bad.empty()) return ThrowError(env, "EINVAL", "exec", "exec: " + bad);
  auto* w = new ExecWorker(env, std::move(argv), std::move(input), std::move(netns));
  return w->Enqueue();
}

}  // namespace

void InitExec(Napi::Env env, Napi::Object exports) { exports.Set("exec", Napi::Function::New(env, Exec)); }

}  // namespace svcproxy
