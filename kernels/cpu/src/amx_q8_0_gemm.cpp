// Prompt GEMM of a repacked Q8_0 matrix on AMX tiles. Its decode panels
// (amx_tiles.h) are already the B operand of tdpbsud: per 32-element block, 8 rows
// of 64 bytes, each 4 quants (plus 128, unsigned) of 16 weight rows. The A operand
// is the activations' Q8_0 quants loaded straight from their rows (16 tokens × 32
// bytes, the row stride as the tile stride), so neither side is unpacked or packed
// per call. Built with -mamx-*; reached only on the amx path.
//
// Numerics: C = Σ a·(w + 128) is exact; minus 128·Σa per token and block it is the
// exact block sum, scaled and accumulated block after block exactly as
// q8_0_decode_panels does, so a prompt row has the bits of the same token decoded.
#include <immintrin.h>

#include <cstring>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 on _mm512_undefined_* in the intrinsic headers
#endif

#include "amx_tiles.h"

namespace r1::kernels::detail {
namespace {

// Tiles 0, 1: A (n_tok tokens × 32 bytes); 2, 3: B (8 × 64 bytes); 4, 5: C (n_tok ×
// 16 int32). Even blocks use 0/2/4, odd blocks 1/3/5.
void configure_tiles(int n_tok) {
  amx_tile_config c;
  std::memset(&c, 0, sizeof(c));
  c.palette = 1;
  for (int i = 0; i < 2; ++i) {
    c.rows[i] = static_cast<uint8_t>(n_tok), c.colsb[i] = 32;
    c.rows[2 + i] = 8, c.colsb[2 + i] = 64;
    c.rows[4 + i] = static_cast<uint8_t>(n_tok), c.colsb[4 + i] = 64;
  }
  _tile_loadconfig(&c);
}

// Block b's tile product into C tile 4 (even blocks) or 5 (odd blocks). The tile
// intrinsics take literal register numbers, hence two functions.
inline void issue_even(const uint8_t* panel, const uint8_t* a, size_t x_stride, int64_t b) {
  _tile_loadd(0, a + 34 * b, static_cast<long>(x_stride));
  _tile_loadd(2, panel + 512 * b, 64);
  _tile_zero(4);
  _tile_dpbsud(4, 0, 2);
}
inline void issue_odd(const uint8_t* panel, const uint8_t* a, size_t x_stride, int64_t b) {
  _tile_loadd(1, a + 34 * b, static_cast<long>(x_stride));
  _tile_loadd(3, panel + 512 * b, 64);
  _tile_zero(5);
  _tile_dpbsud(5, 1, 3);
}

// acc[j] += block b of token j (C rows in c), scaled; FULL: all 16 tokens (the
// accumulators then stay in registers).
template <bool full>
inline void post(const int32_t* c, __m512 dw, const q8_0_column_block* s, int64_t nb, int64_t b, int n_tok,
                 __m512 (&acc)[16]) {
#pragma GCC unroll 16
  for (int j = 0; j < 16; ++j) {
    if (!full && j >= n_tok) break;
    const q8_0_column_block& t = s[j * nb + b];
    const __m512i sum = _mm512_sub_epi32(_mm512_load_si512(c + 16 * j), _mm512_set1_epi32(t.comp));
    acc[j] = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(t.d)), _mm512_cvtepi32_ps(sum), acc[j]);
  }
}

// One row tile against one token tile of n_tok tokens starting at `a` (token j's
// block b at a + j·x_stride + 34·b), sums of those tokens at `s` (token j, block b
// at s[j·nb + b]). Writes y[j·y_stride + n] for n < n_rows. Software-pipelined: the
// next block's tile product runs while this one's results are scaled.
template <bool full>
void tile_pair(const uint8_t* panel, int64_t nb, const uint8_t* a, size_t x_stride, const q8_0_column_block* s,
               int n_tok, float* y, int64_t y_stride, int n_rows) {
  const auto* scales = reinterpret_cast<const __m256i*>(panel + static_cast<size_t>(nb) * 512);
  alignas(64) int32_t c0[256], c1[256];
  __m512 acc[16];
  for (int j = 0; j < 16; ++j) acc[j] = _mm512_setzero_ps();
  issue_even(panel, a, x_stride, 0);
  for (int64_t b = 0; b < nb; b += 2) {
    if (b + 1 < nb) issue_odd(panel, a, x_stride, b + 1);
    _tile_stored(4, c0, 64);
    post<full>(c0, _mm512_cvtph_ps(_mm256_loadu_si256(scales + b)), s, nb, b, n_tok, acc);
    if (b + 2 < nb) issue_even(panel, a, x_stride, b + 2);
    if (b + 1 < nb) {
      _tile_stored(5, c1, 64);
      post<full>(c1, _mm512_cvtph_ps(_mm256_loadu_si256(scales + b + 1)), s, nb, b + 1, n_tok, acc);
    }
  }
  const __mmask16 rows = tile_row_mask(n_rows);
  for (int j = 0; j < n_tok; ++j) _mm512_mask_storeu_ps(y + j * y_stride, rows, acc[j]);
}

}  // namespace

void q8_0_panel_gemm(const uint8_t* panels, int64_t cols, int64_t rows, int64_t rt_begin, int64_t rt_end,
                     const void* x_q, size_t x_stride, int64_t c_begin, int64_t c_end, const q8_0_column_block* sums,
                     float* y, int64_t y_stride) {
  const int64_t nb = cols / qk_legacy;
  const size_t panel = q8_0_decode_panel_bytes(cols);
  const auto* x = static_cast<const uint8_t*>(x_q) + 2;  // the quants of block 0 (after its fp16 scale)
  int configured = 0;
  // Token tiles outer: the group's panels stay in L2 while the tokens change.
  for (int64_t c = c_begin; c < c_end; c += amx_tile) {
    const int n_tok = tile_part(c_end - c);
    if (n_tok != configured) configure_tiles(configured = n_tok);
    for (int64_t rt = rt_begin; rt < rt_end; ++rt) {
      const int64_t r0 = rt * amx_tile;
      const int n_rows = tile_part(rows - r0);
      const uint8_t* p = panels + panel * static_cast<size_t>(rt);
      const uint8_t* a = x + static_cast<size_t>(c) * x_stride;
      if (n_tok == amx_tile) tile_pair<true>(p, nb, a, x_stride, sums + c * nb, n_tok, y + c * y_stride + r0, y_stride, n_rows);
      else tile_pair<false>(p, nb, a, x_stride, sums + c * nb, n_tok, y + c * y_stride + r0, y_stride, n_rows);
    }
  }
  if (configured) _tile_release();
}

}  // namespace r1::kernels::detail
