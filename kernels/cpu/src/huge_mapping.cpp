#include "huge_mapping.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace r1::kernels::detail {

bool thp_available() {
  static const bool on = [] {
    FILE* f = std::fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (f == nullptr) return false;
    char line[128] = {};
    const bool read = std::fgets(line, sizeof line, f) != nullptr;
    std::fclose(f);
    return read && std::strstr(line, "[never]") == nullptr;
  }();
  return on;
}

result<huge_mapping> map_anonymous(size_t bytes, size_t huge_at, bool huge) {
  huge_mapping m;
  huge = huge && huge_at < bytes && thp_available();
  m.map_bytes = huge ? bytes + 2 * k_huge_page : bytes;
  void* p = ::mmap(nullptr, m.map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    return resource_exhausted("cannot map " + std::to_string(m.map_bytes) + " bytes: " + std::strerror(errno));
  }
  auto* base = static_cast<uint8_t*>(p);
  if (huge) {
    const auto at = reinterpret_cast<uintptr_t>(base) + huge_at;
    m.offset = (k_huge_page - at % k_huge_page) % k_huge_page;
    const size_t advised = (bytes - huge_at + k_huge_page - 1) / k_huge_page * k_huge_page;
    if (::madvise(base + m.offset + huge_at, advised, MADV_HUGEPAGE) == 0) m.huge_bytes = advised;
  }
  m.data = base + m.offset;
  return m;
}

}  // namespace r1::kernels::detail
