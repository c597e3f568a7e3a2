// One IPVS socket kept open across calls. A netlink socket stays in the
// namespace it was opened in, so only the first call pays for setns,
// socket, bind and the family lookup; inside UML every syscall costs
// tens of microseconds and those were most of a one-endpoint change.
// Calls on one session are serialised by its mutex. A socket whose send
// or receive failed is dropped and the next call opens a fresh one.
#pragma once
#include <memory>
#include <mutex>
#include <string>

#include "../error.h"
#include "../netns.h"
#include "genl.h"

namespace svcproxy::ipvs {

class Session {
 public:
  explicit Session(NetnsTarget netns) : netns_(std::move(netns)) {}
  std::mutex mu;

  // With mu held: the open socket, opened (setns on this thread) when there is none.
  GenlSocket* Socket(NativeError* err);
  // With mu held: is a socket open? (Only then may a call run on the JS thread: no setns there.)
  bool Open() const { return sock_ != nullptr && !sock_->broken(); }
  // With mu held: close the socket.
  void Close() { sock_.reset(); }

 private:
  NetnsTarget netns_;
  std::unique_ptr<GenlSocket> sock_;
};

}  // namespace svcproxy::ipvs
