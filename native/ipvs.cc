// Placeholder: the ipvs mode's native functions are registered here.
#include "exports.h"

namespace svcproxy {
void InitIpvs(Napi::Env env, Napi::Object exports) {}
}  // namespace svcproxy
