// JS <-> plain structs for the IPVS bindings. Conversions run on the JS
// thread before a worker is queued (inputs) and in Result() (outputs).
#pragma once
#include <napi.h>

#include <vector>

#include "codec.h"
#include "genl.h"

namespace svcproxy::ipvs {

// {family: 4|6, protocol, address, port, fwmark, scheduler, flags, timeout, netmask}
// Returns "" or a message naming the bad field.
std::string ServiceFromJs(const Napi::Object& o, Service* s);
// {address, family?, port, fwd, weight, upperThreshold, lowerThreshold}
std::string DestFromJs(const Napi::Object& o, Dest* d);

Napi::Object ServiceToJs(Napi::Env env, const Service& s);
Napi::Object DestToJs(Napi::Env env, const Dest& d);

std::string AddrToString(const Addr& a);

// The failed messages of a batch: [{index, errno, code}] (index into the batch).
Napi::Array AckErrorsToJs(Napi::Env env, const std::vector<Ack>& acks);

}  // namespace svcproxy::ipvs
