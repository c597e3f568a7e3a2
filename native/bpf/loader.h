// Load the sock_lb object, pin its maps and cgroup links under a bpffs
// directory svcproxy owns, and take them down again. No policy here.
#pragma once
#include <string>
#include <vector>

#include "../error.h"

namespace svcproxy::bpf {

struct LoadRequest {
  std::string object;   // path of sock_lb.bpf.o
  std::string pin_dir;  // e.g. /sys/fs/bpf/svcproxy/<instance>
  std::string cgroup;   // cgroup v2 directory to attach to
};

struct LoadResult {
  bool adopted = false;            // everything was already pinned: nothing loaded
  std::vector<std::string> links;  // pinned link files
  std::vector<std::string> maps;   // pinned map files
};

// Pinned link file for a program: <pin_dir>/link_<program name>.
std::string LinkPinPath(const std::string& pin_dir, const std::string& prog);

void Load(const LoadRequest& req, LoadResult* out, NativeError* err);

// Detach every pinned link (BPF_LINK_DETACH), unpin links and maps, remove
// the directory. Only files in pin_dir are touched. Missing dir = no-op.
void Unload(const std::string& pin_dir, NativeError* err);

}  // namespace svcproxy::bpf
