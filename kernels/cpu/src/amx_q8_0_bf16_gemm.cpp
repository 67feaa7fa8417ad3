// Prompt GEMM of a repacked Q8_0 matrix on AMX-BF16 tiles, from float activations.
//
// Why not int8: Q8_0 × Q8_0 scales per 32-element block on both sides, so every
// 32-element tile product of the int8 GEMM (amx_q8_0_gemm.cpp) is followed by a
// float step over its 16 × 16 results, and that step, not the tile products,
// bounds it. Here the weights' scale is folded into the weights instead: a task
// turns its rows' decode panels (amx_tiles.h) into bf16 B tiles, d·q once per
// weight and per task, and the activations are rounded to bf16 once per matmul,
// so the C tiles accumulate in fp32 over the whole row with no step in between.
//
// Numerics: each weight d·q and each activation is rounded to bf16 (8 significant
// bits: relative error ≤ 2⁻⁸ each), the products are exact in fp32 and summed in
// fp32; against the exact dot product the error is ≤ (2⁻⁷ + 2⁻¹⁵ + K·2⁻²³)·Σ|w·x|
// (tested). Quantizing the activations to Q8_0, as the int8 path does, costs up to
// 1/254 of a block's largest element on every element, small ones included; in
// the engine test the bf16 prompt logits are about twice as close to float64.
// Built with -mamx-bf16 -mavx512bf16; reached only on the amx path of a CPU that
// has both.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 on _mm512_undefined_* in the intrinsic headers
#endif

#include "amx_tiles.h"

namespace r1::kernels::detail {
namespace {

// The 32 bf16 of v as integer lanes (no conversion).
inline __m512i bits(__m512bh v) { return (__m512i)v; }

constexpr size_t b_tile_bytes = 1024;  // 16 pair rows × 16 weight rows × 2 bf16
constexpr size_t block_quant_bytes = 512;

// Tiles 0, 1: A (16 tokens × 32 bf16); 2, 3: B (16 pair rows × 64 bytes); 4..7:
// C (16 tokens × 16 fp32), C tile 4 + 2u + v = token tile u × row tile v.
void configure_tiles() {
  amx_tile_config c;
  std::memset(&c, 0, sizeof(c));
  c.palette = 1;
  for (int i = 0; i < 8; ++i) c.rows[i] = amx_tile, c.colsb[i] = 64;
  _tile_loadconfig(&c);
}

// One 32-element block of a row tile's decode panel (512 bytes: byte 64·g + 4·n
// + j is quant 4g + j of row n, plus 128) and the rows' fp16 scales, as a B tile:
// pair row p holds (w[n][2p], w[n][2p + 1]) at bytes 4n..4n + 3, w = d·q in bf16.
void write_b_tile(const uint8_t* quants, const uint16_t* d16, uint16_t* out) {
  const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(d16)));
  // Lane i of a quarter h holds row 4h + i/4: the scale that multiplies it.
  __m512 s[4];
  for (int h = 0; h < 4; ++h)
    s[h] = _mm512_permutexvar_ps(_mm512_add_epi32(_mm512_srli_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 2),
                                                  _mm512_set1_epi32(4 * h)),
                                 d);
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int g = 0; g < 8; ++g) {
    const __m512i q = _mm512_xor_si512(_mm512_loadu_si512(quants + 64 * g), flip);  // back to signed
    __m512 f[4];
    f[0] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm512_castsi512_si128(q))), s[0]);
    f[1] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm512_extracti32x4_epi32(q, 1))), s[1]);
    f[2] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm512_extracti32x4_epi32(q, 2))), s[2]);
    f[3] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm512_extracti32x4_epi32(q, 3))), s[3]);
    // Dword w of lo (hi) is row w/2 (8 + w/2), pair w%2 of the four quants.
    const __m512i lo = bits(_mm512_cvtne2ps_pbh(f[1], f[0]));
    const __m512i hi = bits(_mm512_cvtne2ps_pbh(f[3], f[2]));
    _mm512_storeu_si512(out + 64 * g, _mm512_permutex2var_epi32(lo, even, hi));
    _mm512_storeu_si512(out + 64 * g + 32, _mm512_permutex2var_epi32(lo, odd, hi));
  }
}

// A C tile's place in y: `full` when all 16 tokens and 16 rows are real (the tile
// then loads and stores in place); otherwise through `tmp`, clipped.
struct c_place {
  float* y;
  int64_t y_stride;
  int n_tok, n_rows;
  bool full() const { return n_tok == amx_tile && n_rows == amx_tile; }
};

// Fills `tmp` with the place's clipped results (zeros elsewhere) / writes them back.
void gather_c(const c_place& p, float* tmp) {
  const __mmask16 rows = tile_row_mask(p.n_rows);
  for (int j = 0; j < amx_tile; ++j)
    _mm512_storeu_ps(tmp + 16 * j, j < p.n_tok ? _mm512_maskz_loadu_ps(rows, p.y + j * p.y_stride) : _mm512_setzero_ps());
}
void scatter_c(const c_place& p, const float* tmp) {
  const __mmask16 rows = tile_row_mask(p.n_rows);
  for (int j = 0; j < p.n_tok; ++j) _mm512_mask_storeu_ps(p.y + j * p.y_stride, rows, _mm512_loadu_ps(tmp + 16 * j));
}

// load_cT / store_cT: C tile T from and to its place (the tile instructions name
// their register literally, hence one function per tile).
#define R1_C_TILE_IO(T)                                                          \
  void load_c##T(const c_place& p, bool first, float* tmp) {                     \
    if (first) {                                                                 \
      _tile_zero(T);                                                             \
    } else if (p.full()) {                                                       \
      _tile_loadd(T, p.y, static_cast<long>(p.y_stride * sizeof(float)));        \
    } else {                                                                     \
      gather_c(p, tmp);                                                          \
      _tile_loadd(T, tmp, 64);                                                   \
    }                                                                            \
  }                                                                              \
  void store_c##T(const c_place& p, float* tmp) {                                \
    if (p.full()) {                                                              \
      _tile_stored(T, p.y, static_cast<long>(p.y_stride * sizeof(float)));       \
    } else {                                                                     \
      _tile_stored(T, tmp, 64);                                                  \
      scatter_c(p, tmp);                                                         \
    }                                                                            \
  }
R1_C_TILE_IO(4)
R1_C_TILE_IO(5)
R1_C_TILE_IO(6)
R1_C_TILE_IO(7)
#undef R1_C_TILE_IO

// NT token tiles × NR row tiles over blocks [0, n_blocks) of the current chunk:
// A tiles from `a` (token tile u at a + u·16·a_stride bytes), B tiles from `b`
// (row tile v's blocks at b + v·b_stride), C in `c` (4 places, [u][v]).
template <int NT, int NR>
void tile_block(const uint8_t* a, size_t a_stride, const uint8_t* b, size_t b_stride, int64_t n_blocks,
                const c_place (&c)[2][2], bool first, float* tmp) {
  load_c4(c[0][0], first, tmp);
  if constexpr (NR == 2) load_c5(c[0][1], first, tmp);
  if constexpr (NT == 2) load_c6(c[1][0], first, tmp);
  if constexpr (NT == 2 && NR == 2) load_c7(c[1][1], first, tmp);
  const uint8_t* a1 = a + amx_tile * a_stride;
  for (int64_t k = 0; k < n_blocks; ++k) {
    _tile_loadd(0, a + 64 * k, static_cast<long>(a_stride));
    _tile_loadd(2, b + b_tile_bytes * k, 64);
    _tile_dpbf16ps(4, 0, 2);
    if constexpr (NR == 2) {
      _tile_loadd(3, b + b_stride + b_tile_bytes * k, 64);
      _tile_dpbf16ps(5, 0, 3);
    }
    if constexpr (NT == 2) {
      _tile_loadd(1, a1 + 64 * k, static_cast<long>(a_stride));
      _tile_dpbf16ps(6, 1, 2);
      if constexpr (NR == 2) _tile_dpbf16ps(7, 1, 3);
    }
  }
  store_c4(c[0][0], tmp);
  if constexpr (NR == 2) store_c5(c[0][1], tmp);
  if constexpr (NT == 2) store_c6(c[1][0], tmp);
  if constexpr (NT == 2 && NR == 2) store_c7(c[1][1], tmp);
}

constexpr size_t b_budget = 512 * 1024;  // bf16 B tiles a task keeps (in L2) per K chunk

}  // namespace

size_t q8_0_bf16_work_bytes() { return b_budget + 1024; }

void q8_0_bf16_convert_columns(const float* x, int64_t x_stride, int64_t n_cols, int64_t cols, int64_t c,
                               uint16_t* xb) {
  uint16_t* out = xb + static_cast<size_t>(c) * static_cast<size_t>(cols);
  if (c >= n_cols) {  // padding of the last token tile
    std::memset(out, 0, static_cast<size_t>(cols) * sizeof(uint16_t));
    return;
  }
  const float* in = x + c * x_stride;
  for (int64_t k = 0; k < cols; k += 32) {
    _mm512_storeu_si512(out + k, bits(_mm512_cvtne2ps_pbh(_mm512_loadu_ps(in + k + 16), _mm512_loadu_ps(in + k))));
  }
}

void q8_0_bf16_gemm(const uint8_t* panels, int64_t cols, int64_t rows, int64_t rt_begin, int64_t rt_end,
                    const uint16_t* xb, int64_t c_begin, int64_t c_end, uint8_t* work, float* y, int64_t y_stride) {
  const int64_t nb = cols / qk_legacy;
  const size_t panel = q8_0_decode_panel_bytes(cols);
  const int64_t n_rt = rt_end - rt_begin;
  // Blocks per K chunk: the group's B tiles of one chunk fit the budget, chunks even.
  const int64_t max_blocks = std::max<int64_t>(1, static_cast<int64_t>(b_budget / b_tile_bytes) / n_rt);
  const int64_t n_chunks = (nb + max_blocks - 1) / max_blocks;
  const int64_t chunk = (nb + n_chunks - 1) / n_chunks;
  auto* bbuf = reinterpret_cast<uint16_t*>(work);
  auto* tmp = reinterpret_cast<float*>(work + b_budget);
  const size_t a_stride = static_cast<size_t>(cols) * sizeof(uint16_t);
  configure_tiles();
  for (int64_t k0 = 0; k0 < nb; k0 += chunk) {
    const int64_t n_blocks = std::min(chunk, nb - k0);
    const size_t b_stride = b_tile_bytes * static_cast<size_t>(n_blocks);  // one row tile's chunk
    for (int64_t rt = rt_begin; rt < rt_end; ++rt) {
      const uint8_t* p = panels + panel * static_cast<size_t>(rt);
      const auto* d16 = reinterpret_cast<const uint16_t*>(p + static_cast<size_t>(nb) * block_quant_bytes);
      for (int64_t k = 0; k < n_blocks; ++k)
        write_b_tile(p + block_quant_bytes * static_cast<size_t>(k0 + k), d16 + 16 * (k0 + k),
                     bbuf + (b_stride * static_cast<size_t>(rt - rt_begin) + b_tile_bytes * static_cast<size_t>(k)) / 2);
    }
    const bool first = k0 == 0;
    for (int64_t c = c_begin; c < c_end; c += 2 * amx_tile) {
      const bool two_tok = c + amx_tile < c_end;
      const uint8_t* a = reinterpret_cast<const uint8_t*>(xb + static_cast<size_t>(c) * static_cast<size_t>(cols)) + 64 * k0;
      for (int64_t rt = rt_begin; rt < rt_end; rt += 2) {
        const bool two_rows = rt + 1 < rt_end;
        c_place place[2][2];
        for (int u = 0; u < 2; ++u)
          for (int v = 0; v < 2; ++v) {
            const int64_t c0 = c + amx_tile * u, r0 = (rt + v) * amx_tile;
            place[u][v] = {y + c0 * y_stride + r0, y_stride, tile_part(c_end - c0), tile_part(rows - r0)};
          }
        const uint8_t* b = reinterpret_cast<const uint8_t*>(bbuf) + b_stride * static_cast<size_t>(rt - rt_begin);
        if (two_tok && two_rows) tile_block<2, 2>(a, a_stride, b, b_stride, n_blocks, place, first, tmp);
        else if (two_tok) tile_block<2, 1>(a, a_stride, b, b_stride, n_blocks, place, first, tmp);
        else if (two_rows) tile_block<1, 2>(a, a_stride, b, b_stride, n_blocks, place, first, tmp);
        else tile_block<1, 1>(a, a_stride, b, b_stride, n_blocks, place, first, tmp);
      }
    }
  }
  _tile_release();
}

}  // namespace r1::kernels::detail
