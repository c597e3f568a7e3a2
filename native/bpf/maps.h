// Batched element operations on pinned maps, and whole-map dumps.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "../error.h"

namespace svcproxy::bpf {

enum class MapOpKind { kUpdate, kDelete };

// One batch against one pinned map. keys/values are packed arrays of the
// map's key/value size (checked against the kernel's map info).
struct MapOp {
  std::string path;
  MapOpKind kind;
  std::vector<uint8_t> keys;
  std::vector<uint8_t> values;  // empty for kDelete
};

// Runs the ops in order (the order is the caller's publishing protocol) and
// stops at the first failure. Deleting a missing key is not a failure.
void RunMapOps(const std::vector<MapOp>& ops, NativeError* err);

struct MapDump {
  uint32_t key_size = 0;
  uint32_t value_size = 0;  // per element as returned (per-CPU maps: all CPUs)
  uint32_t count = 0;
  std::vector<uint8_t> keys;
  std::vector<uint8_t> values;
};

void DumpMap(const std::string& path, MapDump* out, NativeError* err);

}  // namespace svcproxy::bpf
