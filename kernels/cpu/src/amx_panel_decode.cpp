// Decode (one activation column) straight from a repacked Q8_0 matrix: the panels
// of amx_gemm.cpp hold 16 rows × 32 quants per block back to back, so a task reads
// one sequential stream instead of 16 row streams, and two rows share each 512-bit
// register. AVX-512 VNNI; reached only on the amx path.
//
// The outputs are bit for bit those of the Q8_0 dot kernels (dot_avx512.cpp): the
// same exact i32 lanes (offset form: (x + 128)·y − 128·Σy), the same scale product
// dx·dy, the same fused multiply-adds per lane into an even-block and an odd-block
// accumulator, and the same final reduction of their sum. Lanes 0-7 of a register
// belong to row 2j, lanes 8-15 to row 2j + 1.
#include <immintrin.h>

#include <cstring>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 on _mm512_undefined_* in the intrinsic headers
#endif

#include "amx_tiles.h"

namespace r1::kernels::detail {
namespace {

constexpr int k_pairs = amx_tile / 2;
constexpr size_t k_prefetch = 2048;  // bytes ahead of the block being read

inline float h2f(uint16_t h) { return _cvtsh_ss(h); }
inline float hsum256(__m256 v) { return _mm512_reduce_add_ps(_mm512_zextps256_ps512(v)); }

struct tile_acc {
  __m512 even[k_pairs], odd[k_pairs];
};

// One 32-element block b of a 16-row panel into acc (even or odd by b's parity).
inline void panel_block(const uint8_t* blk, const block_q8_0& yb, __m512 (&acc)[k_pairs]) {
  const __m512i y = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(yb.qs)));
  const __m512i offset = _mm512_set1_epi8(static_cast<char>(0x80));
  const __m512i base = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), offset, y));
  const __m512 dxy = _mm512_mul_ps(_mm512_loadu_ps(reinterpret_cast<const float*>(blk + 512)), _mm512_set1_ps(h2f(yb.d)));
  _mm_prefetch(reinterpret_cast<const char*>(blk) + k_prefetch, _MM_HINT_T0);
  _mm_prefetch(reinterpret_cast<const char*>(blk) + k_prefetch + 64 * 4, _MM_HINT_T0);
  for (int j = 0; j < k_pairs; ++j) {
    const __m512i x = _mm512_xor_si512(_mm512_loadu_si512(blk + 64 * j), offset);
    const __m512 p = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(base, x, y));
    const __m512i idx = _mm512_inserti64x4(_mm512_set1_epi32(2 * j), _mm256_set1_epi32(2 * j + 1), 1);
    acc[j] = _mm512_fmadd_ps(_mm512_permutexvar_ps(idx, dxy), p, acc[j]);
  }
}

void decode_q8_0(const uint8_t* panels, int64_t cols, int64_t rows, int64_t rt_begin, int64_t rt_end,
                 const void* x_q, float* y) {
  const int64_t nb = cols / qk_legacy;
  const size_t panel = static_cast<size_t>(nb) * amx_q8_block_bytes;
  const auto* yb = static_cast<const block_q8_0*>(x_q);
  for (int64_t rt = rt_begin; rt < rt_end; ++rt) {
    const uint8_t* p = panels + panel * static_cast<size_t>(rt);
    tile_acc a;
    for (int j = 0; j < k_pairs; ++j) a.even[j] = a.odd[j] = _mm512_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
      panel_block(p + static_cast<size_t>(b) * amx_q8_block_bytes, yb[b], a.even);
      panel_block(p + static_cast<size_t>(b + 1) * amx_q8_block_bytes, yb[b + 1], a.odd);
    }
    if (b < nb) panel_block(p + static_cast<size_t>(b) * amx_q8_block_bytes, yb[b], a.even);
    const int64_t r0 = rt * amx_tile;
    const int n_rows = static_cast<int>(rows - r0 < amx_tile ? rows - r0 : amx_tile);
    float out[amx_tile];
    for (int j = 0; j < k_pairs; ++j) {
      out[2 * j] = hsum256(_mm256_add_ps(_mm512_castps512_ps256(a.even[j]), _mm512_castps512_ps256(a.odd[j])));
      out[2 * j + 1] = hsum256(_mm256_add_ps(_mm512_extractf32x8_ps(a.even[j], 1), _mm512_extractf32x8_ps(a.odd[j], 1)));
    }
    std::memcpy(y + r0, out, sizeof(float) * static_cast<size_t>(n_rows));
  }
}

}  // namespace

extern const amx_panel_decode_fn amx_panel_decode_q8_0 = decode_q8_0;

}  // namespace r1::kernels::detail
