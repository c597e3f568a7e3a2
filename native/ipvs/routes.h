// IPVS mode's VIPs as local host routes (RTN_LOCAL in RT_TABLE_LOCAL, on
// the holder device), programmed over rtnetlink in batches: one sendmsg
// carries a thousand routes, where `ip -batch` costs a request, an ack and
// a process spawn. TypeScript decides which VIPs; this only encodes.
//
//   ipvsVipRoutes({netns, dev, protocol, add: string[], del: string[]})
//       -> {errors: [{index, errno, code}]}   index: del first, then add
//     add is NLM_F_CREATE | NLM_F_REPLACE (idempotent); del names the
//     protocol, so the kernel deletes only a route svcproxy made.
//   ipvsVipList({netns, dev, protocol}) -> string[]   (both families)
#pragma once
#include <napi.h>

namespace svcproxy::ipvs {

void InitVipRoutes(Napi::Env env, Napi::Object exports);

}  // namespace svcproxy::ipvs
