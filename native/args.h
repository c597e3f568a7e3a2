// Reading a binding's arguments. The convention: every binding takes one
// options object (`nftRun({handle, commands, json})`, `exec({argv, netns})`),
// never a positional list. These readers return the default for an absent or
// mistyped field; a binding that must reject one checks the type itself and
// names the field in its EINVAL message ("nftRun: commands: text required").
// A namespace argument (`netns`) is read by NetnsFromJs (netns.h): a handle
// from netnsOpen, a name or path, or nothing.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

namespace svcproxy {

// The options object (an empty one when the caller passed none).
inline Napi::Object Options(const Napi::CallbackInfo& info) {
  return info.Length() > 0 && info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(info.Env());
}

inline std::string Str(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
}

inline uint32_t U32(const Napi::Object& o, const char* key, uint32_t dflt = 0) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : dflt;
}

}  // namespace svcproxy
