#include "log.h"

#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>
#include <vector>

namespace svcproxy::bpf {
namespace {

thread_local std::string* g_capture = nullptr;

int Print(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG || g_capture == nullptr) return 0;
  char buf[1024];
  int n = vsnprintf(buf, sizeof buf, fmt, args);
  if (n > 0) g_capture->append(buf);
  return n;
}

}  // namespace

void InstallLibbpfLog() { libbpf_set_print(Print); }

LibbpfLogCapture::LibbpfLogCapture() { g_capture = &text_; }
LibbpfLogCapture::~LibbpfLogCapture() { g_capture = nullptr; }

std::string LibbpfLogCapture::Tail() const {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text_.size()) {
    size_t end = text_.find('\n', start);
    if (end == std::string::npos) end = text_.size();
    if (end > start) lines.push_back(text_.substr(start, end - start));
    start = end + 1;
  }
  std::string out;
  size_t from = lines.size() > 3 ? lines.size() - 3 : 0;
  for (size_t i = from; i < lines.size(); i++) out += (out.empty() ? "" : " / ") + lines[i];
  return out;
}

}  // namespace svcproxy::bpf
