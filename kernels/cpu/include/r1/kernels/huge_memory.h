// Owned anonymous memory, advised as transparent huge pages where the system offers them:
// for buffers read as long streams (the KV cache, the read-bandwidth buffer), so that a
// stream pays no TLB miss, and no prefetcher stall, per 4 KiB. Pages are committed as they
// are first touched, 2 MiB at a time where huge. Zeroed. Move-only; unmapped on destruction.
#pragma once

#include <cstddef>
#include <cstdint>

#include "r1/base/status.h"

namespace r1::kernels {

class huge_memory {
 public:
  huge_memory() = default;
  // resource_exhausted if the mapping fails. With huge=false, or where THP is off, the
  // memory is the same on small pages.
  static result<huge_memory> map(size_t bytes, bool huge);

  huge_memory(huge_memory&& o) noexcept { *this = static_cast<huge_memory&&>(o); }
  huge_memory& operator=(huge_memory&& o) noexcept;
  huge_memory(const huge_memory&) = delete;
  huge_memory& operator=(const huge_memory&) = delete;
  ~huge_memory();

  uint8_t* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  size_t huge_bytes() const { return huge_bytes_; }  // advised as huge pages

 private:
  void unmap();
  uint8_t* data_ = nullptr;
  size_t bytes_ = 0;
  uint8_t* map_base_ = nullptr;
  size_t map_bytes_ = 0;
  size_t huge_bytes_ = 0;
};

}  // namespace r1::kernels
