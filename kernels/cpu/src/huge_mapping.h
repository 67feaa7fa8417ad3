// Anonymous memory with part of it on transparent huge pages: what the decode panels
// (amx_packed_matrix.cpp) and the read-bandwidth buffer (bandwidth.cpp) are read from,
// so that a stream of them pays no TLB miss per 4 KiB.
#pragma once

#include <cstddef>
#include <cstdint>

#include "r1/base/status.h"

namespace r1::kernels::detail {

constexpr size_t k_huge_page = size_t{2} << 20;

// Whether MADV_HUGEPAGE can give huge pages (THP "always" or "madvise"); read once.
bool thp_available();

struct huge_mapping {
  uint8_t* data = nullptr;  // the `bytes` asked for
  size_t offset = 0;        // of data in the mapping
  size_t map_bytes = 0;     // of the mapping, for munmap(data - offset, map_bytes)
  size_t huge_bytes = 0;    // advised as huge pages (0: all on small pages)
};

// Maps `bytes` of zeroed anonymous memory. With `huge` (and THP available) the
// mapping is over-allocated by two huge pages, never touched, so that data +
// huge_at starts on a 2 MiB boundary, and is advised MADV_HUGEPAGE from there up to
// the boundary after the end. The advice may fail (an old kernel, a container
// without THP): the memory is the same, on small pages.
result<huge_mapping> map_anonymous(size_t bytes, size_t huge_at, bool huge);

}  // namespace r1::kernels::detail
