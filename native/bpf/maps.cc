#include "maps.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <thread>  // hardware_concurrency

#include <pthread.h>

namespace svcproxy::bpf {
namespace {

struct OpenMap {
  int fd = -1;
  bpf_map_info info{};
};

// Pinned maps opened once per call, closed when the call ends.
class MapCache {
 public:
  ~MapCache() {
    for (auto& [path, m] : maps_) close(m.fd);
  }
  const OpenMap* Get(const std::string& path, const std::string& op, NativeError* err) {
    auto it = maps_.find(path);
    if (it != maps_.end()) return &it->second;
    OpenMap m;
    m.fd = bpf_obj_get(path.c_str());
    if (m.fd < 0) {
      err->SetErrno(op, errno, "open pinned map " + path);
      return nullptr;
    }
    uint32_t len = sizeof(m.info);
    if (bpf_obj_get_info_by_fd(m.fd, &m.info, &len) != 0) {
      err->SetErrno(op, errno, "map info " + path);
      close(m.fd);
      return nullptr;
    }
    return &(maps_[path] = m);
  }

 private:
  std::map<std::string, OpenMap> maps_;
};

bool PerCpu(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

uint32_t ValueBytes(const bpf_map_info& info) {
  if (!PerCpu(info.type)) return info.value_size;
  return ((info.value_size + 7) / 8 * 8) * libbpf_num_possible_cpus();
}

// Elements [first, first + n) of an update op: one batch call, or one call
// per element where the kernel or map type has no batch support.
void UpdateRange(const OpenMap& m, const MapOp& op, uint32_t first, uint32_t n, NativeError* err) {
  const uint32_t ks = m.info.key_size, vs = ValueBytes(m.info);
  const uint8_t* keys = &op.keys[size_t(first) * ks];
  const uint8_t* values = &op.values[size_t(first) * vs];
  LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
  uint32_t done = n;
  if (bpf_map_update_batch(m.fd, keys, values, &done, &opts) == 0) return;
  if (errno != EINVAL && errno != ENOTSUP && errno != EOPNOTSUPP) {
    err->SetErrno("bpf.update", errno, op.path + " (" + std::to_string(done) + " of " + std::to_string(n) + " written)");
    return;
  }
  for (uint32_t i = 0; i < n; i++) {
    if (bpf_map_update_elem(m.fd, keys + size_t(i) * ks, values + size_t(i) * vs, BPF_ANY) != 0) {
      err->SetErrno("bpf.update", errno, op.path);
      return;
    }
  }
}

// Below this many elements one thread is faster than starting others.
constexpr uint32_t kParallelMin = 16384;
constexpr unsigned kMaxThreads = 4;

void Update(const OpenMap& m, const MapOp& op, NativeError* err) {
  uint32_t n = op.keys.size() / m.info.key_size;
  if (op.keys.size() != size_t(n) * m.info.key_size || op.values.size() != size_t(n) * ValueBytes(m.info)) {
    err->Set("EINVAL", "bpf.update", "key/value buffers do not match the map's sizes: " + op.path);
    return;
  }
  if (n == 0) return;
  // A big batch is split over a few threads: hash maps lock per bucket, so
  // writers on different CPUs hardly wait for each other. Order within the
  // op does not matter (distinct keys); the next op starts after all parts.
  unsigned threads = std::min(kMaxThreads, std::max(1u, std::thread::hardware_concurrency()));
  if (n < kParallelMin || threads < 2) {
    UpdateRange(m, op, 0, n, err);
    return;
  }
  struct Part {
    const OpenMap* m;
    const MapOp* op;
    uint32_t first, count;
    NativeError err;
    pthread_t thread;
    bool started;
  };
  std::vector<Part> parts;
  uint32_t per = (n + threads - 1) / threads;
  for (uint32_t first = 0; first < n; first += per) parts.push_back({&m, &op, first, std::min(per, n - first), {}, {}, false});
  auto run = [](void* arg) -> void* {
    auto* p = static_cast<Part*>(arg);
    UpdateRange(*p->m, *p->op, p->first, p->count, &p->err);
    return nullptr;
  };
  // pthread, not std::thread: the addon builds without exceptions, and a
  // thread that cannot start just means this thread does that part too.
  for (size_t i = 1; i < parts.size(); i++) parts[i].started = pthread_create(&parts[i].thread, nullptr, run, &parts[i]) == 0;
  run(&parts[0]);
  for (size_t i = 1; i < parts.size(); i++) {
    if (parts[i].started)
      pthread_join(parts[i].thread, nullptr);
    else
      run(&parts[i]);
  }
  for (const auto& p : parts) {
    if (p.err.failed()) {
      *err = p.err;
      return;
    }
  }
}

void Delete(const OpenMap& m, const MapOp& op, NativeError* err) {
  uint32_t n = op.keys.size() / m.info.key_size;
  if (op.keys.size() != size_t(n) * m.info.key_size) {
    err->Set("EINVAL", "bpf.delete", "key buffer does not match the map's key size: " + op.path);
    return;
  }
  if (n == 0) return;
  uint32_t done = n;
  if (bpf_map_delete_batch(m.fd, op.keys.data(), &done, nullptr) == 0) return;
  // A missing key stops the batch (ENOENT): finish one by one, tolerating it.
  for (uint32_t i = done; i < n; i++) {
    if (bpf_map_delete_elem(m.fd, &op.keys[i * m.info.key_size]) != 0 && errno != ENOENT) {
      err->SetErrno("bpf.delete", errno, op.path);
      return;
    }
  }
}

}  // namespace

void RunMapOps(const std::vector<MapOp>& ops, NativeError* err) {
  MapCache cache;
  for (const auto& op : ops) {
    const char* name = op.kind == MapOpKind::kUpdate ? "bpf.update" : "bpf.delete";
    const OpenMap* m = cache.Get(op.path, name, err);
    if (m == nullptr) return;
    if (op.kind == MapOpKind::kUpdate)
      Update(*m, op, err);
    else
      Delete(*m, op, err);
    if (err->failed()) return;
  }
}

namespace {

// Batched lookup walks hash buckets; continue from the returned token. The
// buffers grow with what is found, not with max_entries (the backends map
// could hold 80 MiB; a sync of 30k services fills a few). False when the
// map type has no batch support (nothing read, err untouched).
bool DumpBatched(const OpenMap& m, const std::string& path, MapDump* out, NativeError* err) {
  const uint32_t ks = out->key_size, vs = out->value_size, cap = m.info.max_entries;
  std::vector<uint8_t> in_token(ks > 8 ? ks : 8), out_token(in_token.size());
  bool first = true;
  uint32_t total = 0, chunk = std::min(cap, 4096u);
  while (total < cap) {
    uint32_t n = std::min(chunk, cap - total);
    out->keys.resize(size_t(total + n) * ks);
    out->values.resize(size_t(total + n) * vs);
    int rc = bpf_map_lookup_batch(m.fd, first ? nullptr : in_token.data(), out_token.data(), &out->keys[size_t(total) * ks],
                                  &out->values[size_t(total) * vs], &n, nullptr);
    int e = rc != 0 ? errno : 0;
    if (rc != 0 && e != ENOENT) {
      if (first && (e == EINVAL || e == ENOTSUP || e == EOPNOTSUPP)) return false;
      err->SetErrno("bpf.dump", e, path);
      return true;
    }
    total += n;
    first = false;
    in_token = out_token;
    if (e == ENOENT) break;  // walked the whole map
    chunk = std::min(chunk * 2, 1u << 20);
  }
  out->count = total;
  out->keys.resize(size_t(total) * ks);
  out->values.resize(size_t(total) * vs);
  return true;
}

// Without batch support: walk the keys one by one.
void DumpByKey(const OpenMap& m, MapDump* out) {
  std::vector<uint8_t> key(out->key_size), next(out->key_size), value(out->value_size);
  bool have = false;
  uint32_t total = 0;
  out->keys.clear();
  out->values.clear();
  while (total < m.info.max_entries && bpf_map_get_next_key(m.fd, have ? key.data() : nullptr, next.data()) == 0) {
    if (bpf_map_lookup_elem(m.fd, next.data(), value.data()) == 0) {
      out->keys.insert(out->keys.end(), next.begin(), next.end());
      out->values.insert(out->values.end(), value.begin(), value.end());
      total++;
    }
    key = next;
    have = true;
  }
  out->count = total;
}

}  // namespace

void DumpMap(const std::string& path, MapDump* out, NativeError* err) {
  MapCache cache;
  const OpenMap* m = cache.Get(path, "bpf.dump", err);
  if (m == nullptr) return;
  out->key_size = m->info.key_size;
  out->value_size = ValueBytes(m->info);
  if (!DumpBatched(*m, path, out, err)) DumpByKey(*m, out);
}

}  // namespace svcproxy::bpf
