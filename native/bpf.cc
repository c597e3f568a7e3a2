// Placeholder: the bpf mode's native functions are registered here.
#include "exports.h"

namespace svcproxy {
void InitBpf(Napi::Env env, Napi::Object exports) {}
}  // namespace svcproxy
