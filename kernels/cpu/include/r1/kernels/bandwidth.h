// Memory read bandwidth of this machine, the roofline of memory-bound decoding: weight bytes
// read per token × tokens/s can at best reach it.
//
// The machine may be shared with other work, and a long pass then measures our share of the
// CPU rather than the memory. So the buffer is read in slices of 16 MiB, each split over the
// pool's threads; the whole buffer (larger than the caches) is walked between visits of a
// slice, so every slice streams from DRAM, and the 90th percentile of the slice rates is the
// rate while actually scheduled.
//
// No long read sustains that percentile: the slice rates vary, and a whole pass (the bandwidth
// loop's own, as much as a decoded token's) goes at their harmonic mean. The roofline of a
// decode, which reads its ~1 GB once per token, is therefore the best whole-pass rate (the
// STREAM convention: the fastest of several full passes over a buffer larger than the caches).
// Thread safety: uses the pool (see thread_pool.h).
#pragma once

#include <cstddef>

#include "r1/base/status.h"
#include "r1/kernels/thread_pool.h"

namespace r1::kernels {

struct bandwidth_result {
  double p90_gbs = 0;     // 90th percentile of the slice rates (GB/s, 1e9 bytes)
  double median_gbs = 0;  // median slice rate
  double pass_gbs = 0;    // fastest whole pass over the buffer (the roofline of a decode)
};

// Reads `bytes` of the given buffer (at least one 16 MiB slice) `passes` times with the pool's
// threads. The buffer's contents do not matter.
bandwidth_result measure_read_bandwidth(const void* data, size_t bytes, int passes, thread_pool& pool);

// Allocates (on huge pages where the system offers them) and touches `bytes` (default
// 512 MiB) itself, then measures as above.
// resource_exhausted if the buffer cannot be allocated.
result<bandwidth_result> measure_read_bandwidth(thread_pool& pool, size_t bytes = size_t{512} << 20, int passes = 3);

}  // namespace r1::kernels
