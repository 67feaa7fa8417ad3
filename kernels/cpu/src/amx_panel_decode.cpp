// Q8_0's repacked copy: decode panels in the VNNI layout (amx_tiles.h), read by a
// decode or a small batch (below the AMX threshold) as one sequential stream per
// task. Each 512-bit load holds 4 quants of all 16 rows of a tile, so one vpdpbusd
// with the activation's 4 bytes broadcast advances every row: 8 per 32-element
// block, then one conversion and one fused multiply-add per block for the 16 rows
// together (the row-major dot kernels spend those per 32 bytes of one row).
// AVX-512 VNNI; reached only on the amx path.
//
// Numerics: the block sums are exact integers (the quants are stored plus 128 as
// unsigned bytes; −128·Σy per activation block restores them), each row adds
// (dw·dy)·sum block after block with one rounding per fused multiply-add. The dot
// kernels sum the same exact products in another float order, so results agree
// to float rounding, not bit for bit.
#include <immintrin.h>

#include <cstring>
#include <vector>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 on _mm512_undefined_* in the intrinsic headers
#endif

#include "amx_tiles.h"

namespace r1::kernels::detail {
namespace {

constexpr size_t k_quant_bytes = 512;  // one block of a 16-row tile
constexpr size_t k_prefetch = 4096;    // bytes ahead of the block being read

inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

size_t scale_bytes(int64_t nb) { return (static_cast<size_t>(nb) * 32 + 63) & ~static_cast<size_t>(63); }

// NT consecutive row tiles (panels `panel_bytes` apart) against NC columns (column
// k's blocks at yb[k], its sums at ab + k·nb): y[k·y_stride + 16t + n] for n <
// n_rows[t]. Several tiles at once keep several streams in flight (standalone, two
// read 8-20 % faster than one; in the 1.5B Q8_0 decode four gave +4 % over two). Each output goes through the same operations whatever NT
// and NC (the integer sums are exact in any order), so a batch gives each column
// the bits of its own decode.
// The prefetch runs k_prefetch ahead of each tile's quants; past their end it goes
// on in the same tile of the next NT (`next_tiles` of them exist), which the pool
// most likely gives this thread next.
template <int NT, int NC>
void decode_tiles(const uint8_t* panel, size_t panel_bytes, int64_t nb, const block_q8_0* const* yb,
                  const q8_0_column_block* ab, float* y, int64_t y_stride, const int* n_rows, int64_t next_tiles) {
  const size_t quant_bytes = static_cast<size_t>(nb) * k_quant_bytes;
  const __m256i* scales[NT];
  for (int t = 0; t < NT; ++t)
    scales[t] = reinterpret_cast<const __m256i*>(panel + panel_bytes * t + static_cast<size_t>(nb) * k_quant_bytes);
  __m512 acc[NT][NC];
  for (int t = 0; t < NT; ++t)
    for (int k = 0; k < NC; ++k) acc[t][k] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* q[NT];
    __m512 dw[NT];
    for (int t = 0; t < NT; ++t) {
      q[t] = panel + panel_bytes * t + static_cast<size_t>(b) * k_quant_bytes;
      const size_t ahead = static_cast<size_t>(b) * k_quant_bytes + k_prefetch;
      const uint8_t* pf = ahead < quant_bytes ? q[t] + k_prefetch
                          : t < next_tiles    ? panel + panel_bytes * (t + NT) + (ahead - quant_bytes)
                                              : nullptr;
      if (pf != nullptr)
        for (size_t line = 0; line < k_quant_bytes; line += 64) _mm_prefetch(reinterpret_cast<const char*>(pf) + line, _MM_HINT_T0);
      dw[t] = _mm512_cvtph_ps(_mm256_loadu_si256(scales[t] + b));
    }
    for (int k = 0; k < NC; ++k) {
      int32_t y4[8];
      std::memcpy(y4, yb[k][b].qs, sizeof y4);
      const q8_0_column_block& a = ab[k * nb + b];
      __m512i sum[NT];
      for (int t = 0; t < NT; ++t) sum[t] = _mm512_set1_epi32(-a.comp);
      for (int g = 0; g < 8; ++g) {
        const __m512i yg = _mm512_set1_epi32(y4[g]);
        for (int t = 0; t < NT; ++t) sum[t] = _mm512_dpbusd_epi32(sum[t], _mm512_loadu_si512(q[t] + 64 * g), yg);
      }
      for (int t = 0; t < NT; ++t)
        acc[t][k] = _mm512_fmadd_ps(_mm512_mul_ps(dw[t], _mm512_set1_ps(a.d)), _mm512_cvtepi32_ps(sum[t]), acc[t][k]);
    }
  }
  for (int t = 0; t < NT; ++t) {
    const __mmask16 rows = tile_row_mask(n_rows[t]);
    for (int k = 0; k < NC; ++k) _mm512_mask_storeu_ps(y + k * y_stride + 16 * t, rows, acc[t][k]);
  }
}

template <int NT>
void decode_columns(const uint8_t* panel, size_t panel_bytes, int64_t nb, const block_q8_0* const* yb,
                    const q8_0_column_block* ab, float* y, int64_t y_stride, const int* n_rows, int nc,
                    int64_t next_tiles) {
  switch (nc) {
    case 4: decode_tiles<NT, 4>(panel, panel_bytes, nb, yb, ab, y, y_stride, n_rows, next_tiles); break;
    case 3: decode_tiles<NT, 3>(panel, panel_bytes, nb, yb, ab, y, y_stride, n_rows, next_tiles); break;
    case 2: decode_tiles<NT, 2>(panel, panel_bytes, nb, yb, ab, y, y_stride, n_rows, next_tiles); break;
    default: decode_tiles<NT, 1>(panel, panel_bytes, nb, yb, ab, y, y_stride, n_rows, next_tiles); break;
  }
}

}  // namespace

const q8_0_column_block* q8_0_prepare_columns(const void* x_q, size_t x_stride, int64_t n_cols, int64_t cols) {
  thread_local std::vector<q8_0_column_block> store;
  const int64_t nb = cols / qk_legacy;
  const size_t n = static_cast<size_t>(nb * n_cols);
  if (store.size() < n) store.resize(n);
  const __m256i ones = _mm256_set1_epi8(1);
  for (int64_t c = 0; c < n_cols; ++c) {
    const auto* yb = reinterpret_cast<const block_q8_0*>(static_cast<const uint8_t*>(x_q) + static_cast<size_t>(c) * x_stride);
    for (int64_t b = 0; b < nb; ++b) {
      // Σy through vpdpbusd with unsigned ones: exact in each i32 lane.
      const __m256i s4 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), ones,
                                             _mm256_loadu_si256(reinterpret_cast<const __m256i*>(yb[b].qs)));
      const __m128i s2 = _mm_add_epi32(_mm256_castsi256_si128(s4), _mm256_extracti128_si256(s4, 1));
      const int32_t s = _mm_cvtsi128_si32(s2) + _mm_extract_epi32(s2, 1) + _mm_extract_epi32(s2, 2) + _mm_extract_epi32(s2, 3);
      store[static_cast<size_t>(c * nb + b)] = {128 * s, h2f(yb[b].d)};
    }
  }
  return store.data();
}

size_t q8_0_decode_panel_bytes(int64_t cols) {
  const int64_t nb = cols / qk_legacy;
  return static_cast<size_t>(nb) * k_quant_bytes + scale_bytes(nb);
}

void q8_0_write_decode_panel(const amx_weight& w, int64_t row_tile, uint8_t* panel) {
  const int64_t nb = w.cols / qk_legacy;
  const int64_t r0 = row_tile * amx_tile;
  const int n_rows = tile_part(w.rows - r0);
  auto* scales = reinterpret_cast<uint16_t*>(panel + static_cast<size_t>(nb) * k_quant_bytes);
  std::memset(panel, 0x80, static_cast<size_t>(nb) * k_quant_bytes);  // rows past the end: quant 0
  std::memset(scales, 0, scale_bytes(nb));
  const __m256i offset = _mm256_set1_epi8(static_cast<char>(0x80));
  const __m256i dword_at = _mm256_setr_epi32(0, 16, 32, 48, 64, 80, 96, 112);  // group g at 64·g bytes
  for (int n = 0; n < n_rows; ++n) {
    const auto* row = reinterpret_cast<const block_q8_0*>(w.data + static_cast<size_t>(r0 + n) * w.stride);
    for (int64_t b = 0; b < nb; ++b) {
      const __m256i u = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row[b].qs)), offset);
      auto* dst = reinterpret_cast<int*>(panel + static_cast<size_t>(b) * k_quant_bytes + 4 * static_cast<size_t>(n));
      _mm256_i32scatter_epi32(dst, dword_at, u, 4);
      scales[16 * b + n] = row[b].d;
    }
  }
}

void q8_0_decode_panels(const uint8_t* panels, int64_t cols, int64_t rows, int64_t rt_begin, int64_t rt_end,
                        const void* x_q, size_t x_stride, int64_t n_cols, const q8_0_column_block* ab, float* y,
                        int64_t y_stride) {
  const int64_t nb = cols / qk_legacy;
  const size_t panel = q8_0_decode_panel_bytes(cols);
  const auto* xb = static_cast<const uint8_t*>(x_q);
  for (int64_t rt = rt_begin; rt < rt_end;) {
    const int nt = rt + 3 < rt_end ? 4 : rt + 1 < rt_end ? 2 : 1;
    int n_rows[4];
    for (int t = 0; t < nt; ++t) {
      const int64_t r0 = (rt + t) * amx_tile;
      n_rows[t] = tile_part(rows - r0);
    }
    const uint8_t* p = panels + panel * static_cast<size_t>(rt);
    const int64_t next_tiles = (rows + amx_tile - 1) / amx_tile - (rt + nt);
    for (int64_t c = 0; c < n_cols; c += 4) {
      const block_q8_0* yb[4];
      const int nc = static_cast<int>(n_cols - c < 4 ? n_cols - c : 4);
      for (int k = 0; k < nc; ++k) yb[k] = reinterpret_cast<const block_q8_0*>(xb + static_cast<size_t>(c + k) * x_stride);
      float* yc = y + c * y_stride + rt * amx_tile;
      if (nt == 4) decode_columns<4>(p, panel, nb, yb, ab + c * nb, yc, y_stride, n_rows, nc, next_tiles);
      else if (nt == 2) decode_columns<2>(p, panel, nb, yb, ab + c * nb, yc, y_stride, n_rows, nc, next_tiles);
      else decode_columns<1>(p, panel, nb, yb, ab + c * nb, yc, y_stride, n_rows, nc, next_tiles);
    }
    rt += nt;
  }
}

}  // namespace r1::kernels::detail
