// AVX2 + FMA + F16C kernels. Compiled with -mavx2 -mfma -mf16c for this file
// only; reached only through avx2_ops after the CPU check. Everything here has
// internal linkage except the table, so no wide instruction leaks into shared
// inline code.
#include <immintrin.h>

#include <cstring>
#include <utility>

#include "blocks.h"
#include "quants_iq4.h"

namespace r1::kernels::detail {
namespace {

// Lane r of a 128-bit vector from get(r), r = 0..R-1 (others zero). The lane index of
// pinsrw/pinsrd must be a constant even in unoptimised builds, hence the index sequence.
template <int... I, typename F>
inline __m128i insert_u16s(std::integer_sequence<int, I...>, F get) {
  __m128i h = _mm_setzero_si128();
  ((h = _mm_insert_epi16(h, get(I), I)), ...);
  return h;
}

// Weight rows stream from memory once per matvec; the hardware prefetcher alone
// left the small-block formats latency bound (measured 0.9 vs 2.4 GB/s for Q4_0),
// so every kernel prefetches the weight stream this far ahead.
constexpr int k_prefetch_bytes = 1024;
inline void prefetch_lines(const void* p, int bytes) {
  for (int off = 0; off < bytes; off += 64)
    _mm_prefetch(static_cast<const char*>(p) + k_prefetch_bytes + off, _MM_HINT_T0);
}

inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

// Column k of a multi-column call starts a_stride bytes after column k-1.
template <typename B>
inline const B* column(const void* a, size_t a_stride, int k) {
  return reinterpret_cast<const B*>(static_cast<const uint8_t*>(a) + static_cast<size_t>(k) * a_stride);
}


inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Σ pairs of u8 × s8, widened to eight i32.
inline __m256i dot_u8s8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// Σ of s8 × s8 products in eight i32 lanes (sign moved onto y so maddubs applies).
inline __m256i dot_s8s8(__m256i x, __m256i y) {
  return dot_u8s8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

// 16 bytes of nibbles -> 32 bytes: low nibbles then high nibbles.
inline __m256i nibbles_32(const uint8_t* p) {
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m256i both = _mm256_insertf128_si256(_mm256_castsi128_si256(b), _mm_srli_epi16(b, 4), 1);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

// 32 bits -> 32 bytes, 0x10 where the bit is set (the fifth bit of Q5 values).
inline __m256i fifth_bits_32(const uint8_t* p) {
  uint32_t bits;
  std::memcpy(&bits, p, 4);
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(bits)),
      _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
  const __m256i mask = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, mask), mask);
  return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

inline __m256 load_f32x8(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load_f16x8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline __m256 load_bf16x8(const uint16_t* p) {
  const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}
inline float f32_value(float v) { return v; }
inline float bf2f(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// F32 / F16 / BF16 rows against NC columns of the same type; NC = 1 is the dot.
template <typename T, int NC, typename L, typename C>
void float_cols(int64_t n, const T* x, const void* a, size_t a_stride, float* out, L load8, C to_f32) {
  __m256 s0[NC], s1[NC];
  for (int k = 0; k < NC; ++k) s0[k] = s1[k] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    prefetch_lines(x + i, static_cast<int>(16 * sizeof(T)));
    const __m256 w0 = load8(x + i), w1 = load8(x + i + 8);
    for (int k = 0; k < NC; ++k) {
      const T* y = column<T>(a, a_stride, k);
      s0[k] = _mm256_fmadd_ps(w0, load8(y + i), s0[k]);
      s1[k] = _mm256_fmadd_ps(w1, load8(y + i + 8), s1[k]);
    }
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 w0 = load8(x + i);
    for (int k = 0; k < NC; ++k) s0[k] = _mm256_fmadd_ps(w0, load8(column<T>(a, a_stride, k) + i), s0[k]);
  }
  for (int k = 0; k < NC; ++k) {
    const T* y = column<T>(a, a_stride, k);
    float sum = hsum(_mm256_add_ps(s0[k], s1[k]));
    for (int64_t j = i; j < n; ++j) sum += to_f32(x[j]) * to_f32(y[j]);
    out[k] = sum;
  }
}

template <int NC>
void f32_cols(int64_t n, const void* w, const void* a, size_t stride, float* out) {
  float_cols<float, NC>(n, static_cast<const float*>(w), a, stride, out, load_f32x8, f32_value);
}
template <int NC>
void f16_cols(int64_t n, const void* w, const void* a, size_t stride, float* out) {
  float_cols<uint16_t, NC>(n, static_cast<const uint16_t*>(w), a, stride, out, load_f16x8, h2f);
}
template <int NC>
void bf16_cols(int64_t n, const void* w, const void* a, size_t stride, float* out) {
  float_cols<uint16_t, NC>(n, static_cast<const uint16_t*>(w), a, stride, out, load_bf16x8, bf2f);
}
template <void (*F)(int64_t, const void*, const void*, size_t, float*)>
float one_column(int64_t n, const void* w, const void* a) {
  float out;
  F(n, w, a, 0, &out);
  return out;
}

// Multi-row kernels prefetch each row's counterpart in the next pass (R rows
// further) while that is near; see the same function in dot_avx512.cpp.
constexpr size_t k_max_group_prefetch = 16384;
inline size_t prefetch_distance(int rows, size_t row_stride) {
  const size_t next_group = static_cast<size_t>(rows) * row_stride;
  return rows > 1 && next_group <= k_max_group_prefetch ? next_group : k_prefetch_bytes;
}
inline void prefetch_ahead(const void* p, size_t distance, int bytes) {
  for (int off = 0; off < bytes; off += 64)
    _mm_prefetch(static_cast<const char*>(p) + distance + off, _MM_HINT_T0);
}

// Q8_0 / Q4_0 weights: R rows (row r at x + r·x_stride bytes) against NC Q8_0
// columns, out[r·NC + k]. Two accumulators per output (even and odd blocks);
// every output takes the same float steps for any R and NC, so all
// instantiations agree bit for bit. R > 1 shares the activation loads and
// converts the R row scales of a block together.
template <typename BX, int R, int NC, typename F>
void q8_0_like_tile(int64_t n, const void* x, size_t x_stride, const void* a, size_t a_stride, float* out,
                    F weights) {
  static_assert(R <= 8);
  __m256 acc0[R][NC], acc1[R][NC];
  for (int r = 0; r < R; ++r)
    for (int k = 0; k < NC; ++k) acc0[r][k] = acc1[r][k] = _mm256_setzero_ps();
  auto step = [&](int64_t i, __m256 (&acc)[R][NC]) {
    __m256i yq[NC];
    float dy[NC];
    for (int k = 0; k < NC; ++k) {
      const block_q8_0& yb = column<block_q8_0>(a, a_stride, k)[i];
      yq[k] = load256(yb.qs);
      dy[k] = h2f(yb.d);
    }
    __m256 dxv = _mm256_setzero_ps();
    if constexpr (R > 1) {
      const __m128i h = insert_u16s(std::make_integer_sequence<int, R>{},
                                    [&](int r) { return column<BX>(x, x_stride, r)[i].d; });
      dxv = _mm256_cvtph_ps(h);
    }
    for (int r = 0; r < R; ++r) {
      const BX& xb = column<BX>(x, x_stride, r)[i];
      const __m256i qx = weights(xb);
      const __m256i ax = _mm256_sign_epi8(qx, qx);
      for (int k = 0; k < NC; ++k) {
        const __m256 p = _mm256_cvtepi32_ps(dot_u8s8(ax, _mm256_sign_epi8(yq[k], qx)));
        __m256 sc;
        if constexpr (R > 1)
          sc = _mm256_permutevar8x32_ps(_mm256_mul_ps(dxv, _mm256_set1_ps(dy[k])), _mm256_set1_epi32(r));
        else
          sc = _mm256_set1_ps(h2f(xb.d) * dy[k]);
        acc[r][k] = _mm256_fmadd_ps(sc, p, acc[r][k]);
      }
    }
  };
  const int64_t nb = n / 32;
  const size_t pf = prefetch_distance(R, x_stride);
  int64_t i = 0;
  for (; i + 2 <= nb; i += 2) {
    for (int r = 0; r < R; ++r) prefetch_ahead(column<BX>(x, x_stride, r) + i, pf, static_cast<int>(2 * sizeof(BX)));
    step(i, acc0);
    step(i + 1, acc1);
  }
  if (i < nb) step(i, acc0);
  for (int r = 0; r < R; ++r)
    for (int k = 0; k < NC; ++k) out[r * NC + k] = hsum(_mm256_add_ps(acc0[r][k], acc1[r][k]));
}

struct q8_0_weights {
  __m256i operator()(const block_q8_0& b) const { return load256(b.qs); }
};
struct q4_0_weights {
  __m256i operator()(const block_q4_0& b) const { return _mm256_sub_epi8(nibbles_32(b.qs), _mm256_set1_epi8(8)); }
};

// The table entries of a tile kernel: one row × NC columns, and k_dot_rows rows × one column.
template <typename BX, typename W>
struct q8_0_like {
  static float dot(int64_t n, const void* w, const void* a) {
    float out;
    q8_0_like_tile<BX, 1, 1>(n, w, 0, a, 0, &out, W{});
    return out;
  }
  template <int NC>
  static void cols(int64_t n, const void* w, const void* a, size_t stride, float* out) {
    q8_0_like_tile<BX, 1, NC>(n, w, 0, a, stride, out, W{});
  }
  static void rows(int64_t n, const void* w, size_t w_stride, const void* a, float* out) {
    q8_0_like_tile<BX, k_dot_rows, 1>(n, w, w_stride, a, 0, out, W{});
  }
};
using q8_0_k = q8_0_like<block_q8_0, q8_0_weights>;
using q4_0_k = q8_0_like<block_q4_0, q4_0_weights>;

float dot_q4_1(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_q4_1*>(w);
  const auto* y = static_cast<const block_q8_1*>(a);
  __m256 acc = _mm256_setzero_ps();
  float summs = 0;
  for (int64_t i = 0; i < n / 32; ++i) {
    prefetch_lines(x + i, 1);
    const __m256 p = _mm256_cvtepi32_ps(dot_u8s8(nibbles_32(x[i].qs), load256(y[i].qs)));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)), p, acc);
    summs += h2f(x[i].m) * h2f(y[i].s);
  }
  return hsum(acc) + summs;
}

float dot_q5_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_q5_0*>(w);
  const auto* y = static_cast<const block_q8_0*>(a);
  __m256 acc = _mm256_setzero_ps();
  const __m256i sixteen = _mm256_set1_epi8(16);
  for (int64_t i = 0; i < n / 32; ++i) {
    prefetch_lines(x + i, 1);
    const __m256i q = _mm256_sub_epi8(_mm256_or_si256(nibbles_32(x[i].qs), fifth_bits_32(x[i].qh)), sixteen);
    const __m256 p = _mm256_cvtepi32_ps(dot_s8s8(q, load256(y[i].qs)));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)), p, acc);
  }
  return hsum(acc);
}

float dot_q5_1(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_q5_1*>(w);
  const auto* y = static_cast<const block_q8_1*>(a);
  __m256 acc = _mm256_setzero_ps();
  float summs = 0;
  for (int64_t i = 0; i < n / 32; ++i) {
    prefetch_lines(x + i, 1);
    const __m256i q = _mm256_or_si256(nibbles_32(x[i].qs), fifth_bits_32(x[i].qh));
    const __m256 p = _mm256_cvtepi32_ps(dot_u8s8(q, load256(y[i].qs)));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)), p, acc);
    summs += h2f(x[i].m) * h2f(y[i].s);
  }
  return hsum(acc) + summs;
}

// Q4_K / Q5_K weights against NC Q8_K columns; NC = 1 is the plain dot.
template <bool five, int NC>
void q45_k_cols(int64_t n, const void* w, const void* a, size_t a_stride, float* out) {
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  const __m256i one = _mm256_set1_epi8(1);
  __m256 acc[NC], acc_min[NC];
  for (int k = 0; k < NC; ++k) acc[k] = acc_min[k] = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 256; ++i) {
    const uint8_t* qs;
    const uint8_t* scales;
    uint16_t d16, dmin16;
    __m256i qh = _mm256_setzero_si256();
    if constexpr (five) {
      const auto& b = static_cast<const block_q5_k*>(w)[i];
      prefetch_lines(&b, static_cast<int>(sizeof(b)));
      qs = b.qs, scales = b.scales, d16 = b.d, dmin16 = b.dmin;
      qh = load256(b.qh);
    } else {
      const auto& b = static_cast<const block_q4_k*>(w)[i];
      prefetch_lines(&b, static_cast<int>(sizeof(b)));
      qs = b.qs, scales = b.scales, d16 = b.d, dmin16 = b.dmin;
    }
    uint64_t sc, mn;
    unpack_scale_min_k4_u64(scales, &sc, &mn);
    const __m128i m8 = _mm_cvtsi64_si128(static_cast<long long>(mn));
    const __m256i mins16 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));  // m0 m0 m1 m1 ...
    __m256i sumi[NC];
    for (int k = 0; k < NC; ++k) sumi[k] = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i q = load256(qs + 32 * c);
      __m256i lo = _mm256_and_si256(q, m4);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      if constexpr (five) {
        lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4));
        hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4));
      }
      const __m256i s0 = _mm256_set1_epi16(static_cast<int16_t>((sc >> (16 * c)) & 0xff));
      const __m256i s1 = _mm256_set1_epi16(static_cast<int16_t>((sc >> (16 * c + 8)) & 0xff));
      for (int k = 0; k < NC; ++k) {
        const int8_t* yq = column<block_q8_k>(a, a_stride, k)[i].qs + 64 * c;
        const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, load256(yq)), s0);
        const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, load256(yq + 32)), s1);
        sumi[k] = _mm256_add_epi32(sumi[k], _mm256_add_epi32(p0, p1));
      }
    }
    const float d = h2f(d16), dmin = h2f(dmin16);
    for (int k = 0; k < NC; ++k) {
      const block_q8_k& yb = column<block_q8_k>(a, a_stride, k)[i];
      // Σ_j min_j · (bsums[2j] + bsums[2j+1]) as eight i32 lanes.
      const __m256i mins = _mm256_madd_epi16(load256(yb.bsums), mins16);
      acc_min[k] = _mm256_fmadd_ps(_mm256_set1_ps(-yb.d * dmin), _mm256_cvtepi32_ps(mins), acc_min[k]);
      acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(yb.d * d), _mm256_cvtepi32_ps(sumi[k]), acc[k]);
    }
  }
  for (int k = 0; k < NC; ++k) out[k] = hsum(_mm256_add_ps(acc[k], acc_min[k]));
}

template <bool five>
float dot_q45_k(int64_t n, const void* w, const void* a) {
  float out;
  q45_k_cols<five, 1>(n, w, a, 0, &out);
  return out;
}
template <bool five, int NC>
void cols_q45_k(int64_t n, const void* w, const void* a, size_t stride, float* out) {
  q45_k_cols<five, NC>(n, w, a, stride, out);
}

inline __m256i scale_pair(int8_t lo, int8_t hi) {
  return _mm256_set_m128i(_mm_set1_epi16(hi), _mm_set1_epi16(lo));
}

// Q6_K weights against NC Q8_K columns; the −32 offset is folded in through bsums.
template <int NC>
void q6_k_cols(int64_t n, const void* w, const void* a, size_t a_stride, float* out) {
  const auto* x = static_cast<const block_q6_k*>(w);
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  const __m256i m3 = _mm256_set1_epi8(0x03);
  __m256 acc[NC], acc_off[NC];
  for (int k = 0; k < NC; ++k) acc[k] = acc_off[k] = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 256; ++i) {
    prefetch_lines(x + i, static_cast<int>(sizeof(block_q6_k)));
    const int8_t* sc = x[i].scales;
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
    __m256i sumi[NC];
    for (int k = 0; k < NC; ++k) sumi[k] = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = load256(x[i].ql + 64 * h);
      const __m256i ql1 = load256(x[i].ql + 64 * h + 32);
      const __m256i qh = load256(x[i].qh + 32 * h);
      const __m256i q[4] = {
          _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4)),
          _mm256_or_si256(_mm256_and_si256(ql1, m4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m3), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m3), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m3), 4)),
      };
      for (int g = 0; g < 4; ++g) {
        const __m256i s = scale_pair(sc[8 * h + 2 * g], sc[8 * h + 2 * g + 1]);
        for (int k = 0; k < NC; ++k) {
          const int8_t* yq = column<block_q8_k>(a, a_stride, k)[i].qs + 128 * h + 32 * g;
          sumi[k] = _mm256_add_epi32(sumi[k], _mm256_madd_epi16(_mm256_maddubs_epi16(q[g], load256(yq)), s));
        }
      }
    }
    const float dx = h2f(x[i].d);
    for (int k = 0; k < NC; ++k) {
      const block_q8_k& yb = column<block_q8_k>(a, a_stride, k)[i];
      const float d = yb.d * dx;
      const __m256i off = _mm256_madd_epi16(load256(yb.bsums), sc16);  // Σ scale·bsum
      acc_off[k] = _mm256_fmadd_ps(_mm256_set1_ps(-32.0f * d), _mm256_cvtepi32_ps(off), acc_off[k]);
      acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi[k]), acc[k]);
    }
  }
  for (int k = 0; k < NC; ++k) out[k] = hsum(_mm256_add_ps(acc[k], acc_off[k]));
}

float dot_q6_k(int64_t n, const void* w, const void* a) {
  float out;
  q6_k_cols<1>(n, w, a, 0, &out);
  return out;
}
template <int NC>
void cols_q6_k(int64_t n, const void* w, const void* a, size_t stride, float* out) { q6_k_cols<NC>(n, w, a, stride, out); }

// Q2_K: 2-bit values with a 4-bit scale and min per 16; mins folded in via bsums.
float dot_q2_k(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_q2_k*>(w);
  const auto* y = static_cast<const block_q8_k*>(a);
  const __m256i m3 = _mm256_set1_epi8(3);
  const __m128i m4 = _mm_set1_epi8(0x0f);
  __m256 acc = _mm256_setzero_ps(), acc_min = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 256; ++i) {
    prefetch_lines(x + i, static_cast<int>(sizeof(block_q2_k)));
    const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[i].scales));
    const __m256i mins16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sc8, 4), m4));
    const __m256i mins = _mm256_madd_epi16(load256(y[i].bsums), mins16);
    acc_min = _mm256_fmadd_ps(_mm256_set1_ps(-y[i].d * h2f(x[i].dmin)), _mm256_cvtepi32_ps(mins), acc_min);
    __m256i sumi = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i q = load256(x[i].qs + 32 * h);
      for (int j = 0; j < 4; ++j) {
        const int is = 8 * h + 2 * j;
        const __m256i v = _mm256_and_si256(_mm256_srli_epi16(q, 2 * j), m3);
        const __m256i p = _mm256_maddubs_epi16(v, load256(y[i].qs + 128 * h + 32 * j));
        const __m256i s = scale_pair(static_cast<int8_t>(x[i].scales[is] & 15), static_cast<int8_t>(x[i].scales[is + 1] & 15));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, s));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * h2f(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum(_mm256_add_ps(acc, acc_min));
}

// Q3_K: values (q + 4) in 0..7 go through maddubs; the −4 comes back via bsums.
float dot_q3_k(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_q3_k*>(w);
  const auto* y = static_cast<const block_q8_k*>(a);
  const __m256i m3 = _mm256_set1_epi8(3);
  const __m256i one = _mm256_set1_epi8(1);
  __m256 acc = _mm256_setzero_ps(), acc_off = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 256; ++i) {
    prefetch_lines(x + i, static_cast<int>(sizeof(block_q3_k)));
    int8_t sc[16];
    unpack_scales_q3_k(x[i].scales, sc);
    const float d = y[i].d * h2f(x[i].d);
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
    const __m256i off = _mm256_madd_epi16(load256(y[i].bsums), sc16);
    acc_off = _mm256_fmadd_ps(_mm256_set1_ps(-4.0f * d), _mm256_cvtepi32_ps(off), acc_off);
    const __m256i hm = load256(x[i].hmask);
    __m256i sumi = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i q = load256(x[i].qs + 32 * h);
      for (int j = 0; j < 4; ++j) {
        const int is = 8 * h + 2 * j;
        const __m256i hb = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hm, 4 * h + j), one), 2);
        const __m256i v = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 2 * j), m3), hb);
        const __m256i p = _mm256_maddubs_epi16(v, load256(y[i].qs + 128 * h + 32 * j));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, scale_pair(sc[is], sc[is + 1])));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum(_mm256_add_ps(acc, acc_off));
}

void f16_to_f32(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load_f16x8(src + i));
  for (; i < n; ++i) dst[i] = h2f(src[i]);
}

void f32_to_f16(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; ++i) dst[i] = _cvtss_sh(src[i], _MM_FROUND_TO_NEAREST_INT);
}

}  // namespace

extern const isa_ops avx2_ops = {
    {
        one_column<f32_cols<1>>, one_column<f16_cols<1>>, q4_0_k::dot, dot_q4_1, nullptr, nullptr, dot_q5_0,
        dot_q5_1,  // 0..7
        q8_0_k::dot, nullptr, dot_q2_k, dot_q3_k, dot_q45_k<false>, dot_q45_k<true>,    // 8..13
        dot_q6_k, nullptr, nullptr, nullptr, nullptr, nullptr, dot_iq4_nl_avx2, nullptr,  // 14..21
        nullptr, dot_iq4_xs_avx2, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,  // 22..29
        one_column<bf16_cols<1>>, nullptr,                                           // 30..31
    },
    {
        f32_cols<4>, f16_cols<4>, q4_0_k::cols<4>, nullptr, nullptr, nullptr, nullptr, nullptr,    // 0..7
        q8_0_k::cols<4>, nullptr, nullptr, nullptr, cols_q45_k<false, 4>, cols_q45_k<true, 4>,  // 8..13
        cols_q6_k<4>, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,    // 14..21
        nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,      // 22..29
        bf16_cols<4>, nullptr,                                                       // 30..31
    },
    f16_to_f32,
    f32_to_f16,
    {
        f32_cols<2>, f16_cols<2>, q4_0_k::cols<2>, nullptr, nullptr, nullptr, nullptr, nullptr,  // 0..7
        q8_0_k::cols<2>, nullptr, nullptr, nullptr, cols_q45_k<false, 2>, cols_q45_k<true, 2>,  // 8..13
        cols_q6_k<2>, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,            // 14..21
        nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,                 // 22..29
        bf16_cols<2>, nullptr,                                                                  // 30..31
    },
    {
        f32_cols<3>, f16_cols<3>, q4_0_k::cols<3>, nullptr, nullptr, nullptr, nullptr, nullptr,  // 0..7
        q8_0_k::cols<3>, nullptr, nullptr, nullptr, cols_q45_k<false, 3>, cols_q45_k<true, 3>,  // 8..13
        cols_q6_k<3>, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,            // 14..21
        nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,                 // 22..29
        bf16_cols<3>, nullptr,                                                                  // 30..31
    },
    {
        nullptr, nullptr, q4_0_k::rows, nullptr, nullptr, nullptr, nullptr, nullptr,  // 0..7
        q8_0_k::rows, nullptr, nullptr, nullptr, nullptr, nullptr,                   // 8..13
        nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,      // 14..21
        nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,      // 22..29
        nullptr, nullptr,                                                            // 30..31
    },
};

}  // namespace r1::kernels::detail
