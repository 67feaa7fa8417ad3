// Read bandwidth: a plain 64-bit sum over 16 MiB slices (AVX2 loads where present, so the loop
// is not instruction bound; lines prefetched 1 KiB ahead, as the decode kernels do, so each
// core keeps as many reads in flight as they can), rates per slice, percentiles of those, and
// the rate of the fastest whole pass.
#include "r1/kernels/bandwidth.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "r1/kernels/cpu_features.h"
#include "r1/kernels/huge_memory.h"

namespace r1::kernels {
namespace {

constexpr size_t k_slice = size_t{16} << 20;
constexpr size_t k_prefetch = 1024;  // bytes ahead: the best of 0 / 1 / 4 KiB measured here

__attribute__((target("avx2"))) uint64_t sum_avx2(const uint8_t* p, size_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 128 <= n; i += 128) {
    _mm_prefetch(reinterpret_cast<const char*>(p + i + k_prefetch), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(p + i + k_prefetch + 64), _MM_HINT_T0);
    a0 = _mm256_add_epi64(a0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_add_epi64(a1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    a2 = _mm256_add_epi64(a2, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    a3 = _mm256_add_epi64(a3, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  const __m256i s = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
  return static_cast<uint64_t>(_mm256_extract_epi64(s, 0) ^ _mm256_extract_epi64(s, 3));
}

uint64_t sum_bytes(const uint8_t* p, size_t n) {
  if (detect_cpu_features().avx2) return sum_avx2(p, n);
  uint64_t s = 0;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    if (i % 64 == 0) _mm_prefetch(reinterpret_cast<const char*>(p + i + k_prefetch), _MM_HINT_T0);
    uint64_t v;
    std::memcpy(&v, p + i, 8);
    s += v;
  }
  return s;
}

double percentile(std::vector<double> v, int pct) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, v.size() * static_cast<size_t>(pct) / 100)];
}

}  // namespace

bandwidth_result measure_read_bandwidth(const void* data, size_t bytes, int passes, thread_pool& pool) {
  const auto* base = static_cast<const uint8_t*>(data);
  std::vector<uint64_t> sinks(static_cast<size_t>(pool.size()), 0);
  std::vector<double> rates;
  double best_pass = 0;
  for (int rep = 0; rep < passes; ++rep) {
    const auto pass_start = std::chrono::steady_clock::now();
    size_t pass_bytes = 0;
    for (size_t off = 0; off + k_slice <= bytes; off += k_slice) {
      const int parts = pool.size();
      const auto t0 = std::chrono::steady_clock::now();
      pool.run(parts, [&](int part, int thread) {
        const size_t a = k_slice * static_cast<size_t>(part) / static_cast<size_t>(parts) / 128 * 128;
        const size_t b = k_slice * static_cast<size_t>(part + 1) / static_cast<size_t>(parts) / 128 * 128;
        sinks[static_cast<size_t>(thread)] += sum_bytes(base + off + a, b - a);
      });
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      rates.push_back(static_cast<double>(k_slice) / std::max(s, 1e-9) / 1e9);
      pass_bytes += k_slice;
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - pass_start).count();
    best_pass = std::max(best_pass, static_cast<double>(pass_bytes) / std::max(s, 1e-9) / 1e9);
  }
  // Keeps the sums observable so the reads are not optimised away.
  volatile uint64_t keep = 0;
  for (uint64_t s : sinks) keep = keep + s;
  return {percentile(rates, 90), percentile(rates, 50), best_pass};
}

result<bandwidth_result> measure_read_bandwidth(thread_pool& pool, size_t bytes, int passes) {
  bytes = std::max(bytes, k_slice) / k_slice * k_slice;
  // On huge pages, as decode reads its panels, so that the roofline is what the memory gives
  // rather than what 4 KiB page walks leave of it.
  auto buf = huge_memory::map(bytes, true);
  if (!buf.ok()) return buf.error().with_context("bandwidth");
  // Touch every page in parallel so the first pass does not measure page faults.
  const int parts = pool.size();
  pool.run(parts, [&](int part, int) {
    const size_t a = bytes * static_cast<size_t>(part) / static_cast<size_t>(parts);
    const size_t b = bytes * static_cast<size_t>(part + 1) / static_cast<size_t>(parts);
    std::memset(buf->data() + a, part + 1, b - a);
  });
  return measure_read_bandwidth(buf->data(), bytes, passes, pool);
}

}  // namespace r1::kernels
