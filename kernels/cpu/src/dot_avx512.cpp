// AVX-512 (F, BW, VL, DQ, VNNI; BF16 where present) kernels. Compiled with the
// matching -m flags for this file only; reached only through avx512_ops after
// the CPU check. Types without a kernel here use the AVX2 ones.
#include <immintrin.h>

#include <cstring>
#include <utility>
#include <type_traits>

// GCC 12's AVX-512 intrinsics pass _mm512_undefined_epi32() (a self-initialised
// variable) as the unused merge source, which trips this warning at every use.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include "blocks.h"

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
template <int... I, typename F>
inline __m128i insert_u32s(std::integer_sequence<int, I...>, F get) {
  __m128i h = _mm_setzero_si128();
  ((h = _mm_insert_epi32(h, get(I), I)), ...);
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

// Multi-row kernels walk R rows side by side. When the R rows are short (a
// 1536-wide row is under 2 KiB) a fixed distance ahead of each row lands in the
// rows of the same pass, and the next pass starts on cold lines; so each row
// prefetches its counterpart in the next pass (R rows further), unless that is
// more than this far away, where the fixed distance within the row is used.
constexpr size_t k_max_group_prefetch = 16384;
inline size_t prefetch_distance(int rows, size_t row_stride) {
  const size_t next_group = static_cast<size_t>(rows) * row_stride;
  return rows > 1 && next_group <= k_max_group_prefetch ? next_group : k_prefetch_bytes;
}
inline void prefetch_ahead(const void* p, size_t distance, int bytes) {
  for (int off = 0; off < bytes; off += 64)
    _mm_prefetch(static_cast<const char*>(p) + distance + off, _MM_HINT_T0);
}

inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

// Column k of a multi-column call starts a_stride bytes after column k-1.
template <typename B>
inline const B* column(const void* a, size_t a_stride, int k) {
  return reinterpret_cast<const B*>(static_cast<const uint8_t*>(a) + static_cast<size_t>(k) * a_stride);
}

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m512i load512(const void* p) { return _mm512_loadu_si512(p); }
inline __m512i concat(__m256i lo, __m256i hi) { return _mm512_inserti64x4(_mm512_zextsi256_si512(lo), hi, 1); }

inline float bf2f(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline __m512 load_f32x16(const float* p) { return _mm512_loadu_ps(p); }
inline __m512 load_f16x16(const uint16_t* p) { return _mm512_cvtph_ps(load256(p)); }
inline __m512 load_bf16x16(const uint16_t* p) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(load256(p)), 16));
}
inline float f32_value(float v) { return v; }

// F32 / F16 / BF16 rows against NC columns of the same type; NC = 1 is the dot.
template <typename T, int NC, typename L, typename C>
void float_cols(int64_t n, const T* x, const void* a, size_t a_stride, float* out, L load16, C to_f32) {
  __m512 s0[NC], s1[NC];
  for (int k = 0; k < NC; ++k) s0[k] = s1[k] = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    prefetch_lines(x + i, static_cast<int>(32 * sizeof(T)));
    const __m512 w0 = load16(x + i), w1 = load16(x + i + 16);
    for (int k = 0; k < NC; ++k) {
      const T* y = column<T>(a, a_stride, k);
      s0[k] = _mm512_fmadd_ps(w0, load16(y + i), s0[k]);
      s1[k] = _mm512_fmadd_ps(w1, load16(y + i + 16), s1[k]);
    }
  }
  for (; i + 16 <= n; i += 16) {
    const __m512 w0 = load16(x + i);
    for (int k = 0; k < NC; ++k) s0[k] = _mm512_fmadd_ps(w0, load16(column<T>(a, a_stride, k) + i), s0[k]);
  }
  for (int k = 0; k < NC; ++k) {
    const T* y = column<T>(a, a_stride, k);
    float sum = _mm512_reduce_add_ps(_mm512_add_ps(s0[k], s1[k]));
    for (int64_t j = i; j < n; ++j) sum += to_f32(x[j]) * to_f32(y[j]);
    out[k] = sum;
  }
}

template <int NC>
void f32_cols(int64_t n, const void* w, const void* a, size_t stride, float* out) {
  float_cols<float, NC>(n, static_cast<const float*>(w), a, stride, out, load_f32x16, f32_value);
}
template <int NC>
void f16_cols(int64_t n, const void* w, const void* a, size_t stride, float* out) {
  float_cols<uint16_t, NC>(n, static_cast<const uint16_t*>(w), a, stride, out, load_f16x16, h2f);
}
template <int NC>
void bf16_cols(int64_t n, const void* w, const void* a, size_t stride, float* out) {
  float_cols<uint16_t, NC>(n, static_cast<const uint16_t*>(w), a, stride, out, load_bf16x16, bf2f);
}
template <void (*F)(int64_t, const void*, const void*, size_t, float*)>
float one_column(int64_t n, const void* w, const void* a) {
  float out;
  F(n, w, a, 0, &out);
  return out;
}

// AVX512_BF16: vdpbf16ps multiplies bf16 pairs and accumulates in f32.
float dot_bf16_dp(int64_t n, const void* w, const void* a) {
  const uint16_t* x = static_cast<const uint16_t*>(w);
  const uint16_t* y = static_cast<const uint16_t*>(a);
  __m512 s0 = _mm512_setzero_ps(), s1 = s0;
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    prefetch_lines(x + i, 128);
    s0 = _mm512_dpbf16_ps(s0, (__m512bh)load512(x + i), (__m512bh)load512(y + i));
    s1 = _mm512_dpbf16_ps(s1, (__m512bh)load512(x + i + 32), (__m512bh)load512(y + i + 32));
  }
  for (; i + 32 <= n; i += 32) s0 = _mm512_dpbf16_ps(s0, (__m512bh)load512(x + i), (__m512bh)load512(y + i));
  float sum = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
  for (; i < n; ++i) sum += bf2f(x[i]) * bf2f(y[i]);
  return sum;
}

inline float hsum256(__m256 v) { return _mm512_reduce_add_ps(_mm512_zextps256_ps512(v)); }

// Q8_0 and Q4_0: one 32-byte block per 256-bit register; vpdpbusd (VNNI) replaces
// the maddubs + madd pair. (Two blocks per 512-bit register measured slower:
// the scales then need a cross-lane merge per pair.) R weight rows (row r at
// x + r·x_stride bytes) against NC columns, out[r·NC + k]. Each output has two
// accumulators (even and odd blocks) to break the FMA dependency chain, and goes
// through the same float operations in the same order for every R and NC, so all
// instantiations agree bit for bit. R > 1 shares the activation loads and gives
// R independent weight streams in flight.
//
// vpdpbusd multiplies unsigned by signed bytes. One row (W::sign_trick) moves
// the weight's sign onto the activation (|x| · sign(y, x)); several rows instead
// take the weights as unsigned, x + W::offset (Q8_0: x ^ 0x80; Q4_0: the raw
// nibbles), and start each block's sum at −offset·Σy, computed once per column
// and shared by the rows. Both give the same exact i32 lanes.
template <typename BX, int R, int NC, typename W>
void q8_0_like_tile(int64_t n, const void* x, size_t x_stride, const void* a, size_t a_stride, float* out) {
  constexpr bool offset_form = R > 1;
  __m256 acc0[R][NC], acc1[R][NC];
  for (int r = 0; r < R; ++r)
    for (int k = 0; k < NC; ++k) acc0[r][k] = acc1[r][k] = _mm256_setzero_ps();
  auto step = [&](int64_t i, __m256 (&acc)[R][NC]) {
    __m256i yq[NC], base[NC];
    float dy[NC];
    for (int k = 0; k < NC; ++k) {
      const block_q8_0& yb = column<block_q8_0>(a, a_stride, k)[i];
      yq[k] = load256(yb.qs);
      dy[k] = h2f(yb.d);
      if constexpr (offset_form)
        base[k] = _mm256_sub_epi32(_mm256_setzero_si256(),
                                   _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(W::offset), yq[k]));
    }
    __m256 dxv = _mm256_setzero_ps();
    if constexpr (offset_form) {
      const __m128i h = insert_u16s(std::make_integer_sequence<int, R>{},
                                    [&](int r) { return column<BX>(x, x_stride, r)[i].d; });
      dxv = _mm256_cvtph_ps(h);
    }
    for (int r = 0; r < R; ++r) {
      const BX& xb = column<BX>(x, x_stride, r)[i];
      if constexpr (offset_form) {
        const __m256i ux = W::unsigned_weights(xb);
        for (int k = 0; k < NC; ++k) {
          const __m256 p = _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(base[k], ux, yq[k]));
          const __m256 sc = _mm256_permutexvar_ps(_mm256_set1_epi32(r), _mm256_mul_ps(dxv, _mm256_set1_ps(dy[k])));
          acc[r][k] = _mm256_fmadd_ps(sc, p, acc[r][k]);
        }
      } else {
        const float dx = h2f(xb.d);
        const __m256i qx = W::signed_weights(xb);
        const __m256i ax = _mm256_abs_epi8(qx);
        for (int k = 0; k < NC; ++k) {
          const __m256i sy = _mm256_sign_epi8(yq[k], qx);
          const __m256 p = _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(_mm256_setzero_si256(), ax, sy));
          acc[r][k] = _mm256_fmadd_ps(_mm256_set1_ps(dx * dy[k]), p, acc[r][k]);
        }
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
    for (int k = 0; k < NC; ++k) out[r * NC + k] = hsum256(_mm256_add_ps(acc0[r][k], acc1[r][k]));
}

struct q8_0_weights {
  static constexpr char offset = static_cast<char>(0x80);  // 128 as an unsigned byte
  static __m256i signed_weights(const block_q8_0& b) { return load256(b.qs); }
  static __m256i unsigned_weights(const block_q8_0& b) { return _mm256_xor_si256(load256(b.qs), _mm256_set1_epi8(offset)); }
};
struct q4_0_weights {
  static constexpr char offset = 8;
  // 16 bytes in both halves, the upper half shifted down a nibble (no cross-lane shuffle).
  static __m256i unsigned_weights(const block_q4_0& b) {
    const __m256i both = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs)));
    return _mm256_and_si256(_mm256_srlv_epi32(both, _mm256_set_epi32(4, 4, 4, 4, 0, 0, 0, 0)), _mm256_set1_epi8(0x0f));
  }
  static __m256i signed_weights(const block_q4_0& b) { return _mm256_sub_epi8(unsigned_weights(b), _mm256_set1_epi8(8)); }
};

// The table entries of a tile kernel: one row × NC columns, and k_dot_rows rows × one column.
template <typename BX, typename W>
struct q8_0_like {
  static float dot(int64_t n, const void* w, const void* a) {
    float out;
    q8_0_like_tile<BX, 1, 1, W>(n, w, 0, a, 0, &out);
    return out;
  }
  template <int NC>
  static void cols(int64_t n, const void* w, const void* a, size_t stride, float* out) {
    q8_0_like_tile<BX, 1, NC, W>(n, w, 0, a, stride, out);
  }
  static void rows(int64_t n, const void* w, size_t w_stride, const void* a, float* out) {
    q8_0_like_tile<BX, k_dot_rows, 1, W>(n, w, w_stride, a, 0, out);
  }
};
using q8_0_k = q8_0_like<block_q8_0, q8_0_weights>;
using q4_0_k = q8_0_like<block_q4_0, q4_0_weights>;

// Lanes 0-15 of a 32 x i16 register take scale 2c, lanes 16-31 scale 2c+1.
inline __m512i pair_index(int c) {
  return _mm512_inserti64x4(_mm512_set1_epi16(static_cast<int16_t>(2 * c)), _mm256_set1_epi16(static_cast<int16_t>(2 * c + 1)), 1);
}

// 32 bytes of nibbles -> one register [low nibbles | high nibbles]: the bytes go
// to both halves with one broadcast load, the upper half is shifted down 4 bits.
inline __m512i nibbles_64(const uint8_t* q) {
  const __m512i both = _mm512_broadcast_i64x4(load256(q));
  return _mm512_and_si512(_mm512_srlv_epi64(both, _mm512_set_epi64(4, 4, 4, 4, 0, 0, 0, 0)), _mm512_set1_epi8(0x0f));
}

// The per-row (d, dmin) halves of R rows of block i, as floats [d0, dmin0, d1, dmin1, ...].
template <typename BK, int R>
inline __m256 k_row_scales(const void* w, size_t w_stride, int64_t i) {
  static_assert(R <= 4);
  const __m128i h = insert_u32s(std::make_integer_sequence<int, R>{}, [&](int r) {
    uint32_t dd;
    std::memcpy(&dd, &column<BK>(w, w_stride, r)[i].d, 4);  // d and dmin are adjacent halves
    return static_cast<int>(dd);
  });
  return _mm256_cvtph_ps(h);
}

// Q4_K / Q5_K: each 64-value chunk is one register [low nibbles | high nibbles]
// against 64 contiguous activations; vpdpwssd folds in the sub-block scales,
// which vpermw spreads from one register of the 8 unpacked scales. R rows (row r
// at w + r·w_stride bytes) against NC columns, out[r·NC + k]; the integer sums
// are exact and the float steps the same for every R and NC, so all
// instantiations agree bit for bit.
template <bool five, int R, int NC>
void q45_k_tile(int64_t n, const void* w, size_t w_stride, const void* a, size_t a_stride, float* out) {
  using BK = std::conditional_t<five, block_q5_k, block_q4_k>;
  const __m512i one = _mm512_set1_epi8(1);
  __m512 acc[R][NC];
  __m256 acc_min[R][NC];
  for (int r = 0; r < R; ++r)
    for (int k = 0; k < NC; ++k) {
      acc[r][k] = _mm512_setzero_ps();
      acc_min[r][k] = _mm256_setzero_ps();
    }
  const size_t pf = prefetch_distance(R, w_stride);
  for (int64_t i = 0; i < n / 256; ++i) {
    __m512i sc[R];
    __m256i mins16[R];
    for (int r = 0; r < R; ++r) {
      const BK& b = column<BK>(w, w_stride, r)[i];
      prefetch_ahead(&b, pf, static_cast<int>(sizeof(BK)));
      uint64_t s8, m8;
      unpack_scale_min_k4_u64(b.scales, &s8, &m8);
      sc[r] = _mm512_zextsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<long long>(s8))));
      const __m128i mv = _mm_cvtsi64_si128(static_cast<long long>(m8));
      mins16[r] = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mv, mv));  // m0 m0 m1 m1 ...
    }
    __m512i sumi[R][NC];
    for (int r = 0; r < R; ++r)
      for (int k = 0; k < NC; ++k) sumi[r][k] = _mm512_setzero_si512();
    for (int c = 0; c < 4; ++c) {
      __m512i yq[NC];
      for (int k = 0; k < NC; ++k) yq[k] = load512(column<block_q8_k>(a, a_stride, k)[i].qs + 64 * c);
      const __m512i idx = pair_index(c);
      for (int r = 0; r < R; ++r) {
        const BK& b = column<BK>(w, w_stride, r)[i];
        __m512i v = nibbles_64(b.qs + 32 * c);
        if constexpr (five) {
          const __m256i qh = load256(b.qh);
          const __m512i bits = concat(_mm256_srli_epi16(qh, 2 * c), _mm256_srli_epi16(qh, 2 * c + 1));
          v = _mm512_or_si512(v, _mm512_slli_epi16(_mm512_and_si512(bits, one), 4));
        }
        const __m512i s = _mm512_permutexvar_epi16(idx, sc[r]);
        for (int k = 0; k < NC; ++k) sumi[r][k] = _mm512_dpwssd_epi32(sumi[r][k], _mm512_maddubs_epi16(v, yq[k]), s);
      }
    }
    const __m256 dm = k_row_scales<BK, R>(w, w_stride, i);
    for (int k = 0; k < NC; ++k) {
      const block_q8_k& yb = column<block_q8_k>(a, a_stride, k)[i];
      const __m256i bsums = load256(yb.bsums);
      // [yd·d_r, −yd·dmin_r] pairs, the same products as scalar code would form.
      const __m256 f = _mm256_mul_ps(dm, _mm256_setr_ps(yb.d, -yb.d, yb.d, -yb.d, yb.d, -yb.d, yb.d, -yb.d));
      for (int r = 0; r < R; ++r) {
        const __m256i mins = _mm256_madd_epi16(bsums, mins16[r]);
        const __m512 fd = _mm512_permutexvar_ps(_mm512_set1_epi32(2 * r), _mm512_castps256_ps512(f));
        const __m256 fm = _mm256_permutexvar_ps(_mm256_set1_epi32(2 * r + 1), f);
        acc_min[r][k] = _mm256_fmadd_ps(fm, _mm256_cvtepi32_ps(mins), acc_min[r][k]);
        acc[r][k] = _mm512_fmadd_ps(fd, _mm512_cvtepi32_ps(sumi[r][k]), acc[r][k]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int k = 0; k < NC; ++k)
      out[r * NC + k] = _mm512_reduce_add_ps(_mm512_add_ps(acc[r][k], _mm512_zextps256_ps512(acc_min[r][k])));
}

template <bool five>
float dot_q45_k(int64_t n, const void* w, const void* a) {
  float out;
  q45_k_tile<five, 1, 1>(n, w, 0, a, 0, &out);
  return out;
}
template <bool five, int NC>
void cols_q45_k(int64_t n, const void* w, const void* a, size_t stride, float* out) {
  q45_k_tile<five, 1, NC>(n, w, 0, a, stride, out);
}
template <bool five>
void rows_q45_k(int64_t n, const void* w, size_t w_stride, const void* a, float* out) {
  q45_k_tile<five, k_dot_rows, 1>(n, w, w_stride, a, 0, out);
}

// Q6_K: per half, 128 values as two registers (low 4 bits from ql, 2 high bits
// from qh, both halves built from one broadcast load and variable shifts); the
// −32 offset is folded in through bsums; scales spread by vpermw. R rows × NC
// columns as q45_k_tile, bit-identical for every R and NC.
template <int R, int NC>
void q6_k_tile(int64_t n, const void* w, size_t w_stride, const void* a, size_t a_stride, float* out) {
  const __m512i m4 = _mm512_set1_epi8(0x0f);
  const __m512i m3 = _mm512_set1_epi8(0x03);
  // Lane l of a 32 x i16 register takes scale l/8 of a group of four.
  const __m512i idx_base = _mm512_set_epi16(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1,
                                            0, 0, 0, 0, 0, 0, 0, 0);
  const __m512i shift12 = _mm512_set_epi64(2, 2, 2, 2, 0, 0, 0, 0), shift34 = _mm512_set_epi64(6, 6, 6, 6, 4, 4, 4, 4);
  __m512 acc[R][NC];
  __m256 acc_off[R][NC];
  for (int r = 0; r < R; ++r)
    for (int k = 0; k < NC; ++k) {
      acc[r][k] = _mm512_setzero_ps();
      acc_off[r][k] = _mm256_setzero_ps();
    }
  const size_t pf = prefetch_distance(R, w_stride);
  for (int64_t i = 0; i < n / 256; ++i) {
    __m256i sc16[R];
    __m512i sumi[R][NC];
    for (int r = 0; r < R; ++r) {
      const block_q6_k& b = column<block_q6_k>(w, w_stride, r)[i];
      prefetch_ahead(&b, pf, static_cast<int>(sizeof(block_q6_k)));
      sc16[r] = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales)));
      for (int k = 0; k < NC; ++k) sumi[r][k] = _mm512_setzero_si512();
    }
    for (int h = 0; h < 2; ++h) {
      __m512i yq[NC][2];
      for (int k = 0; k < NC; ++k) {
        const int8_t* y = column<block_q8_k>(a, a_stride, k)[i].qs + 128 * h;
        yq[k][0] = load512(y);
        yq[k][1] = load512(y + 64);
      }
      const __m512i i12 = _mm512_add_epi16(idx_base, _mm512_set1_epi16(static_cast<int16_t>(8 * h)));
      const __m512i i34 = _mm512_add_epi16(idx_base, _mm512_set1_epi16(static_cast<int16_t>(8 * h + 4)));
      for (int r = 0; r < R; ++r) {
        const block_q6_k& b = column<block_q6_k>(w, w_stride, r)[i];
        const __m512i ql = load512(b.ql + 64 * h);
        const __m512i qh = _mm512_broadcast_i64x4(load256(b.qh + 32 * h));
        const __m512i hb12 = _mm512_srlv_epi64(qh, shift12), hb34 = _mm512_srlv_epi64(qh, shift34);
        const __m512i q12 = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_slli_epi16(_mm512_and_si512(hb12, m3), 4));
        const __m512i q34 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                            _mm512_slli_epi16(_mm512_and_si512(hb34, m3), 4));
        const __m512i sc512 = _mm512_zextsi256_si512(sc16[r]);
        const __m512i s12 = _mm512_permutexvar_epi16(i12, sc512);
        const __m512i s34 = _mm512_permutexvar_epi16(i34, sc512);
        for (int k = 0; k < NC; ++k) {
          sumi[r][k] = _mm512_dpwssd_epi32(sumi[r][k], _mm512_maddubs_epi16(q12, yq[k][0]), s12);
          sumi[r][k] = _mm512_dpwssd_epi32(sumi[r][k], _mm512_maddubs_epi16(q34, yq[k][1]), s34);
        }
      }
    }
    const __m256 dx = _mm256_cvtph_ps(insert_u16s(std::make_integer_sequence<int, R>{},
                                                  [&](int r) { return column<block_q6_k>(w, w_stride, r)[i].d; }));
    for (int k = 0; k < NC; ++k) {
      const block_q8_k& yb = column<block_q8_k>(a, a_stride, k)[i];
      const __m256i bsums = load256(yb.bsums);
      const __m256 dv = _mm256_mul_ps(_mm256_set1_ps(yb.d), dx);  // yd·dx_r, as scalar code forms it
      const __m256 ov = _mm256_mul_ps(_mm256_set1_ps(-32.0f), dv);
      for (int r = 0; r < R; ++r) {
        const __m512 d = _mm512_permutexvar_ps(_mm512_set1_epi32(r), _mm512_castps256_ps512(dv));
        const __m256 o = _mm256_permutexvar_ps(_mm256_set1_epi32(r), ov);
        const __m256i off = _mm256_madd_epi16(bsums, sc16[r]);  // Σ scale·bsum
        acc_off[r][k] = _mm256_fmadd_ps(o, _mm256_cvtepi32_ps(off), acc_off[r][k]);
        acc[r][k] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(sumi[r][k]), acc[r][k]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int k = 0; k < NC; ++k)
      out[r * NC + k] = _mm512_reduce_add_ps(_mm512_add_ps(acc[r][k], _mm512_zextps256_ps512(acc_off[r][k])));
}

float dot_q6_k(int64_t n, const void* w, const void* a) {
  float out;
  q6_k_tile<1, 1>(n, w, 0, a, 0, &out);
  return out;
}
template <int NC>
void cols_q6_k(int64_t n, const void* w, const void* a, size_t stride, float* out) {
  q6_k_tile<1, NC>(n, w, 0, a, stride, out);
}
void rows_q6_k(int64_t n, const void* w, size_t w_stride, const void* a, float* out) {
  q6_k_tile<k_dot_rows, 1>(n, w, w_stride, a, 0, out);
}

}  // namespace

extern const isa_ops avx512_ops = {
    {
        one_column<f32_cols<1>>, one_column<f16_cols<1>>, q4_0_k::dot, nullptr, nullptr, nullptr, nullptr,
        nullptr,  // 0..7
        q8_0_k::dot, nullptr, nullptr, nullptr, dot_q45_k<false>, dot_q45_k<true>,    // 8..13
        dot_q6_k, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,   // 14..21
        nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,    // 22..29
        one_column<bf16_cols<1>>, nullptr,                                         // 30..31
    },
    {
        f32_cols<4>, f16_cols<4>, q4_0_k::cols<4>, nullptr, nullptr, nullptr, nullptr, nullptr,    // 0..7
        q8_0_k::cols<4>, nullptr, nullptr, nullptr, cols_q45_k<false, 4>, cols_q45_k<true, 4>,  // 8..13
        cols_q6_k<4>, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,    // 14..21
        nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,      // 22..29
        bf16_cols<4>, nullptr,                                                       // 30..31
    },
    nullptr,
    nullptr,
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
        q8_0_k::rows, nullptr, nullptr, nullptr, rows_q45_k<false>, rows_q45_k<true>,  // 8..13
        rows_q6_k, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,    // 14..21
        nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,      // 22..29
        nullptr, nullptr,                                                            // 30..31
    },
};
extern const dot_fn avx512_bf16_dot = dot_bf16_dp;

}  // namespace r1::kernels::detail
