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

void Load(const LoadRequest& req, LoadResult* out, NativeError* err) {
  LibbpfLogCapture log;
  if (!MakeDirs(req.pin_dir, err)) return;

  bpf_object* obj = bpf_object__open_file(req.object.c_str(), nullptr);
  if (obj == nullptr) {
    SetLibbpfError(err, "bpf.open", errno, "open " + req.object, log);
    return;
  }
  // Maps: pinned by libbpf at load, or reused when already pinned (restart).
  bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    const char* name = bpf_map__name(map);
    if (name[0] == '.') continue;  // .rodata/.bss stay private to the programs
    std::string pin = req.pin_dir + "/" + name;
    bpf_map__set_pin_path(map, pin.c_str());
    out->maps.push_back(pin);
  }
  bool all_linked = true;
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj) {
    if (!Exists(LinkPinPath(req.pin_dir, bpf_program__name(prog)))) all_linked = false;
  }
  if (all_linked) {
    // A previous svcproxy process left everything attached: adopt it.
    bool maps_pinned = true;
    for (const auto& m : out->maps) maps_pinned = maps_pinned && Exists(m);
    if (maps_pinned) {
      bpf_object__for_each_program(prog, obj) out->links.push_back(LinkPinPath(req.pin_dir, bpf_program__name(prog)));
      out->adopted = true;
      bpf_object__close(obj);
      return;
    }
  }

  int rc = bpf_object__load(obj);
  if (rc != 0) {
    SetLibbpfError(err, "bpf.load", -rc, "load " + req.object, log);
    bpf_object__close(obj);
    return;
  }
  int cg = open(req.cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg < 0) {
    err->SetErrno("bpf.attach", errno, "open cgroup " + req.cgroup);
    bpf_object__close(obj);
    return;
  }
  bpf_object__for_each_program(prog, obj) {
    std::string pin = LinkPinPath(req.pin_dir, bpf_program__name(prog));
    if (Exists(pin)) {  // partially adopted: keep the old link
      out->links.push_back(pin);
      continue;
    }
    bpf_link* link = bpf_program__attach_cgroup(prog, cg);
    if (link == nullptr) {
      SetLibbpfError(err, "bpf.attach", errno, std::string("attach ") + bpf_program__name(prog) + " to " + req.cgroup, log);
      break;
    }
    rc = bpf_link__pin(link, pin.c_str());
    if (rc != 0) SetLibbpfError(err, "bpf.pin", -rc, "pin " + pin, log);
    bpf_link__destroy(link);  // closes our fd; the pin keeps the link alive
    if (rc != 0) break;
    out->links.push_back(pin);
  }
  close(cg);
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
