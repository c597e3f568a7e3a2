// libbpf's own messages, captured per thread so an error can carry them.
#pragma once
#include <string>

namespace svcproxy::bpf {

// Install the libbpf print callback (once, at addon init).
void InstallLibbpfLog();

// Collects libbpf warnings printed on this thread while it lives.
class LibbpfLogCapture {
 public:
  LibbpfLogCapture();
  ~LibbpfLogCapture();
  // The last lines libbpf printed (warnings and errors), joined by " / ".
  std::string Tail() const;

 private:
  std::string text_;
};

}  // namespace svcproxy::bpf
