#include "loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "log.h"

namespace svcproxy::bpf {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// mkdir -p for the pin directory (bpffs allows plain directories).
bool MakeDirs(const std::string& path, NativeError* err) {
  for (size_t i = 1; i <= path.size(); i++) {
    if (i != path.size() && path[i] != '/') continue;
    std::string part = path.substr(0, i);
    if (mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) {
      err->SetErrno("bpf.load", errno, "mkdir " + part);
      return false;
    }
  }
  return true;
}

void SetLibbpfError(NativeError* err, const std::string& op, int e, const std::string& what,
                    const LibbpfLogCapture& log) {
  std::string tail = log.Tail();
  err->SetErrno(op, e, what + (tail.empty() ? "" : "; libbpf: " + tail));
}

}  // namespace

std::string LinkPinPath(const std::string& pin_dir, const std::string& prog) {
  return pin_dir + "/link_" + prog;
}

namespace {

// Give each map its pin path: libbpf pins it at load, or reuses the map
// already pinned there (a restart keeps the maps' contents).
void SetMapPins(bpf_object* obj, const std::string& pin_dir, std::vector<std::string>* maps) {
  bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    const char* name = bpf_map__name(map);
    if (name[0] == '.') continue;  // .rodata/.bss stay private to the programs
    std::string pin = pin_dir + "/" + name;
    bpf_map__set_pin_path(map, pin.c_str());
    maps->push_back(pin);
  }
}

// Did a previous svcproxy process leave every link and map pinned? Then
// there is nothing to load: adopt them.
bool AllPinned(bpf_object* obj, const std::string& pin_dir, const std::vector<std::string>& maps) {
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj) {
    if (!Exists(LinkPinPath(pin_dir, bpf_program__name(prog)))) return false;
  }
  for (const auto& m : maps)
    if (!Exists(m)) return false;
  return true;
}

// Attach each program to the cgroup and pin its link; a link pinned
// already (partially adopted) is kept. Stops at the first failure.
void AttachAndPin(bpf_object* obj, const LoadRequest& req, int cg, LoadResult* out, NativeError* err,
                  const LibbpfLogCapture& log) {
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj) {
    std::string pin = LinkPinPath(req.pin_dir, bpf_program__name(prog));
    if (Exists(pin)) {
      out->links.push_back(pin);
      continue;
    }
    bpf_link* link = bpf_program__attach_cgroup(prog, cg);
    if (link == nullptr) {
      SetLibbpfError(err, "bpf.attach", errno, std::string("attach ") + bpf_program__name(prog) + " to " + req.cgroup, log);
      return;
    }
    int rc = bpf_link__pin(link, pin.c_str());
    if (rc != 0) SetLibbpfError(err, "bpf.pin", -rc, "pin " + pin, log);
    bpf_link__destroy(link);  // closes our fd; the pin keeps the link alive
    if (rc != 0) return;
    out->links.push_back(pin);
  }
}

// Load the programs and maps into the kernel, then attach them.
void LoadAndAttach(bpf_object* obj, const LoadRequest& req, LoadResult* out, NativeError* err,
                   const LibbpfLogCapture& log) {
  int rc = bpf_object__load(obj);
  if (rc != 0) return SetLibbpfError(err, "bpf.load", -rc, "load " + req.object, log);
  int cg = open(req.cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg < 0) return err->SetErrno("bpf.attach", errno, "open cgroup " + req.cgroup);
  AttachAndPin(obj, req, cg, out, err, log);
  close(cg);
}

}  // namespace

void Load(const LoadRequest& req, LoadResult* out, NativeError* err) {
  LibbpfLogCapture log;
  if (!MakeDirs(req.pin_dir, err)) return;
  bpf_object* obj = bpf_object__open_file(req.object.c_str(), nullptr);
  if (obj == nullptr) return SetLibbpfError(err, "bpf.open", errno, "open " + req.object, log);
  SetMapPins(obj, req.pin_dir, &out->maps);
  if (AllPinned(obj, req.pin_dir, out->maps)) {
    bpf_program* prog;
    bpf_object__for_each_program(prog, obj) out->links.push_back(LinkPinPath(req.pin_dir, bpf_program__name(prog)));
    out->adopted = true;
  } else {
    LoadAndAttach(obj, req, out, err, log);
  }
  bpf_object__close(obj);
  if (err->failed()) {
    NativeError ignored;  // keep the first failure; undo what this call pinned
    Unload(req.pin_dir, &ignored);
  }
}

void Unload(const std::string& pin_dir, NativeError* err) {
  DIR* dir = opendir(pin_dir.c_str());
  if (dir == nullptr) {
    if (errno != ENOENT) err->SetErrno("bpf.unload", errno, "opendir " + pin_dir);
    return;
  }
  std::vector<std::string> links, maps;
  while (dirent* de = readdir(dir)) {
    std::string name = de->d_name;
    if (name == "." || name == "..") continue;
    (name.rfind("link_", 0) == 0 ? links : maps).push_back(pin_dir + "/" + name);
  }
  closedir(dir);
  // Links first: once detached, no program can read a half-removed map.
  for (const auto& path : links) {
    int fd = bpf_obj_get(path.c_str());
    if (fd >= 0) {
      if (bpf_link_detach(fd) != 0 && errno != EINVAL && errno != ENOLINK && errno != ENOENT) err->SetErrno("bpf.detach", errno, path);
      close(fd);
    }
    if (unlink(path.c_str()) != 0 && errno != ENOENT) err->SetErrno("bpf.unpin", errno, path);
  }
  for (const auto& path : maps) {
    if (unlink(path.c_str()) != 0 && errno != ENOENT) err->SetErrno("bpf.unpin", errno, path);
  }
  if (rmdir(pin_dir.c_str()) != 0 && errno != ENOENT) err->SetErrno("bpf.unpin", errno, "rmdir " + pin_dir);
}

}  // namespace svcproxy::bpf
