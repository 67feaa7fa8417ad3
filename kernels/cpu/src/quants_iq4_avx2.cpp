// AVX2 dots for IQ4_NL (· Q8_0) and IQ4_XS (· Q8_K): the nibbles become codebook values with
// one byte shuffle, then signed 8-bit products are summed exactly in 32-bit integers; only the
// per-block scaling is in float, so results match the scalar kernels up to float summation order.
// Compiled with -mavx2 -mfma -mf16c; reached only on the avx2 and avx512 paths.
#include <immintrin.h>

#include "quants_iq4.h"

namespace r1::kernels::detail {
namespace {

inline float half_to_float(uint16_t h) { return _cvtsh_ss(h); }

inline __m256i codebook() {
  const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(k_iq4nl_values));
  return _mm256_set_m128i(t, t);
}

// 32 codebook values for 16 bytes of nibbles: low nibbles (elements 0..15) in the low lane,
// high nibbles (16..31) in the high lane.
inline __m256i lookup(const __m256i table, const uint8_t* qs) {
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i m = _mm_set1_epi8(15);
  const __m256i idx = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m), _mm_and_si128(q, m));
  return _mm256_shuffle_epi8(table, idx);
}

// Eight 32-bit partial sums of x·y for 32 signed bytes each.
inline __m256i dot_i8(const __m256i x, const __m256i y) {
  const __m256i ax = _mm256_sign_epi8(x, x);
  const __m256i sy = _mm256_sign_epi8(y, x);
  return _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), _mm256_set1_epi16(1));
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

}  // namespace

float dot_iq4_nl_avx2(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_iq4_nl*>(w);
  const auto* y = static_cast<const block_q8_0*>(a);
  const __m256i table = codebook();
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 32; ++i) {
    const __m256i v = lookup(table, x[i].qs);
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[i].qs));
    const __m256 d = _mm256_set1_ps(half_to_float(x[i].d) * half_to_float(y[i].d));
    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_i8(v, q)), acc);
  }
  return hsum(acc);
}

float dot_iq4_xs_avx2(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_iq4_xs*>(w);
  const auto* y = static_cast<const block_q8_k*>(a);
  const __m256i table = codebook();
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 256; ++i) {
    __m256i s = _mm256_setzero_si256();
    for (int ib = 0; ib < 8; ++ib) {
      const __m256i v = lookup(table, x[i].qs + 16 * ib);
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[i].qs + 32 * ib));
      s = _mm256_add_epi32(s, _mm256_mullo_epi32(dot_i8(v, q), _mm256_set1_epi32(iq4_xs_scale(x[i], ib))));
    }
    const __m256 d = _mm256_set1_ps(half_to_float(x[i].d) * y[i].d);
    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s), acc);
  }
  return hsum(acc);
}

}  // namespace r1::kernels::detail
