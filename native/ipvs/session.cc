#include "session.h"


namespace svcproxy::ipvs {

GenlSocket* Session::Socket(NativeError* err) {
  if (Open()) return sock_.get();
  sock_.reset();
  NetnsGuard ns(netns_, err);
  if (!ns.ok()) return nullptr;
  auto s = std::make_unique<GenlSocket>(err);
  if (!s->ok()) return nullptr;
  sock_ = std::move(s);
  return sock_.get();
}

}  // namespace svcproxy::ipvs
