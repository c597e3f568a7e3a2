// Each native concern registers its functions on the addon's exports.
#pragma once
#include <napi.h>

namespace svcproxy {
void InitExec(Napi::Env env, Napi::Object exports);   // exec.cc
void InitNetns(Napi::Env env, Napi::Object exports);  // addon.cc (namespace handles)
void InitNft(Napi::Env env, Napi::Object exports);    // nft.cc  (libnftables)
void InitIpvs(Napi::Env env, Napi::Object exports);   // ipvs.cc (IPVS genl, libmnl)
void InitIpset(Napi::Env env, Napi::Object exports);  // ipset.cc (ipset over nfnetlink)
void InitBpf(Napi::Env env, Napi::Object exports);    // bpf.cc  (libbpf)
void InitListen(Napi::Env env, Napi::Object exports); // listen.cc (TCP listeners inside a netns)
void InitMount(Napi::Env env, Napi::Object exports);  // mount.cc (bpffs mount/unmount)
}  // namespace svcproxy
