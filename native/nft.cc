// Placeholder: the nft mode's native functions are registered here.
#include "exports.h"

namespace svcproxy {
void InitNft(Napi::Env env, Napi::Object exports) {}
}  // namespace svcproxy
