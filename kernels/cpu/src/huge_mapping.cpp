#include "huge_mapping.h"

#include "r1/kernels/huge_memory.h"

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

namespace r1::kernels {

result<huge_memory> huge_memory::map(size_t bytes, bool huge) {
  R1_ASSIGN_OR_RETURN(detail::huge_mapping m, detail::map_anonymous(bytes, 0, huge));
  huge_memory h;
  h.data_ = m.data;
  h.bytes_ = bytes;
  h.map_base_ = m.data - m.offset;
  h.map_bytes_ = m.map_bytes;
  h.huge_bytes_ = m.huge_bytes;
  return h;
}

huge_memory& huge_memory::operator=(huge_memory&& o) noexcept {
  if (this != &o) {
    unmap();
    data_ = o.data_, bytes_ = o.bytes_, map_base_ = o.map_base_, map_bytes_ = o.map_bytes_, huge_bytes_ = o.huge_bytes_;
    o.data_ = o.map_base_ = nullptr;
    o.bytes_ = o.map_bytes_ = o.huge_bytes_ = 0;
  }
  return *this;
}

huge_memory::~huge_memory() { unmap(); }

void huge_memory::unmap() {
  if (map_base_ != nullptr) ::munmap(map_base_, map_bytes_);
  map_base_ = data_ = nullptr;
}

}  // namespace r1::kernels
