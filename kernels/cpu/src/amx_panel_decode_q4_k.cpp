// Q4_K decode panels: the rows of a 16-row tile interleaved so that one 512-bit
// load holds 4 quants of every row for two groups of 4 columns (low and high
// nibbles), and one vpdpbusd with the activation's 4 bytes broadcast advances all
// 16 rows. The row-major 4-row dot kernels spend the nibble unpacking, the scale
// multiplies and the horizontal sums per row; here they are shared by 16 rows,
// and a decode becomes one sequential stream per task. AVX-512 VNNI; reached only
// on the amx path, from the copy amx_repack makes (amx_tiles.h has the layout).
//
// Numerics: per superblock each row's Σ_s sc_s·Σ q·y and Σ_s m_s·Σ y are exact
// integers (as in the dot kernels); the row then adds (d·dy)·isum − (dmin·dy)·msum
// with two fused multiply-adds. The dot kernels round the same exact sums in
// another float order, so results agree to float rounding, not bit for bit.
#include <immintrin.h>

#include <cstring>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 on _mm512_undefined_* in the intrinsic headers
#endif

#include "amx_tiles.h"
#include "blocks.h"

namespace r1::kernels::detail {
namespace {

// One superblock of a 16-row tile (37 cache lines).
constexpr size_t k_quants = 0;       // 8 sub-blocks × 4 loads × 64 bytes
constexpr size_t k_scales = 2048;    // sub-block s: 16 bytes, row n's 6-bit scale at 16·s + n
constexpr size_t k_mins = 2176;      // sub-blocks 2p, 2p+1: 32 bytes, row n's mins at 32·p + 2n, +1
constexpr size_t k_d = 2304;         // 16 fp16 d
constexpr size_t k_dmin = 2336;      // 16 fp16 dmin
constexpr size_t k_superblock = 2368;
static_assert(k_superblock % 64 == 0);
constexpr size_t k_prefetch = 4096;  // bytes ahead of the superblock being read

inline int32_t load_i32(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Sums of sub-blocks 2p and 2p+1 of a Q8_K block as an int16 pair (|sum| ≤ 32·128).
inline int32_t bsum_pair(const block_q8_k& b, int p) {
  const int lo = b.bsums[4 * p] + b.bsums[4 * p + 1], hi = b.bsums[4 * p + 2] + b.bsums[4 * p + 3];
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint16_t>(lo)) |
                              (static_cast<uint32_t>(static_cast<uint16_t>(hi)) << 16));
}

// NT consecutive row tiles (panels `panel_bytes` apart) against NC columns (column
// k's blocks at yb[k]): y[k·y_stride + 16t + n] for n < n_rows[t]. Each output
// takes the same operations whatever NT and NC, so a batch gives each column the
// bits of its own decode.
template <int NT, int NC>
void decode_tiles(const uint8_t* panel, size_t panel_bytes, int64_t nsb, const block_q8_k* const* yb, float* y,
                  int64_t y_stride, const int* n_rows, const uint8_t* next, int next_tiles) {
  const __m512i nibble = _mm512_set1_epi8(0x0f);
  __m512 acc[NT][NC];
  for (int t = 0; t < NT; ++t)
    for (int k = 0; k < NC; ++k) acc[t][k] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nsb; ++b) {
    const uint8_t* p[NT];
    for (int t = 0; t < NT; ++t) p[t] = panel + panel_bytes * t + static_cast<size_t>(b) * k_superblock;
    __m512i isum[NT][NC];
    for (int t = 0; t < NT; ++t)
      for (int k = 0; k < NC; ++k) isum[t][k] = _mm512_setzero_si512();
    for (int s = 0; s < 8; ++s) {
      for (int t = 0; t < NT; ++t) {
        // The lines k_prefetch bytes ahead, 5 per sub-block (37 per superblock),
        // spread between the arithmetic so that a burst never stalls on the line fill
        // buffers. Past the tile's end, tile t's stream goes on in the same tile of
        // the next group (a 1536-column tile is only 6 superblocks long).
        for (int line = 5 * s; line < 5 * s + 5 && line < static_cast<int>(k_superblock / 64); ++line) {
          const size_t ahead = static_cast<size_t>(b) * k_superblock + k_prefetch + 64 * static_cast<size_t>(line);
          if (ahead < panel_bytes)
            _mm_prefetch(reinterpret_cast<const char*>(panel + panel_bytes * t + ahead), _MM_HINT_T0);
          else if (t < next_tiles && ahead - panel_bytes < panel_bytes)
            _mm_prefetch(reinterpret_cast<const char*>(next + panel_bytes * t + (ahead - panel_bytes)), _MM_HINT_T0);
        }
        const __m512i sc = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p[t] + k_scales + 16 * s)));
        __m512i lo[4], hi[4];
        for (int i = 0; i < 4; ++i) {
          const __m512i q = _mm512_loadu_si512(p[t] + k_quants + 256 * s + 64 * i);
          lo[i] = _mm512_and_si512(q, nibble);
          hi[i] = _mm512_and_si512(_mm512_srli_epi16(q, 4), nibble);
        }
        for (int k = 0; k < NC; ++k) {
          const int8_t* yq = yb[k][b].qs + 32 * s;
          __m512i sum = _mm512_setzero_si512();
          for (int i = 0; i < 4; ++i) {
            sum = _mm512_dpbusd_epi32(sum, lo[i], _mm512_set1_epi32(load_i32(yq + 4 * i)));
            sum = _mm512_dpbusd_epi32(sum, hi[i], _mm512_set1_epi32(load_i32(yq + 16 + 4 * i)));
          }
          isum[t][k] = _mm512_add_epi32(isum[t][k], _mm512_mullo_epi32(sum, sc));
        }
      }
    }
    for (int t = 0; t < NT; ++t) {
      __m512i mins[4];
      for (int q = 0; q < 4; ++q)
        mins[q] = _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[t] + k_mins + 32 * q)));
      const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[t] + k_d)));
      const __m512 dmin = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[t] + k_dmin)));
      for (int k = 0; k < NC; ++k) {
        __m512i msum = _mm512_setzero_si512();
        for (int q = 0; q < 4; ++q) msum = _mm512_dpwssd_epi32(msum, mins[q], _mm512_set1_epi32(bsum_pair(yb[k][b], q)));
        const __m512 dy = _mm512_set1_ps(yb[k][b].d);
        acc[t][k] = _mm512_fmadd_ps(_mm512_mul_ps(d, dy), _mm512_cvtepi32_ps(isum[t][k]), acc[t][k]);
        acc[t][k] = _mm512_fnmadd_ps(_mm512_mul_ps(dmin, dy), _mm512_cvtepi32_ps(msum), acc[t][k]);
      }
    }
  }
  for (int t = 0; t < NT; ++t) {
    const __mmask16 rows = static_cast<__mmask16>(n_rows[t] >= 16 ? 0xffff : (1u << n_rows[t]) - 1);
    for (int k = 0; k < NC; ++k) _mm512_mask_storeu_ps(y + k * y_stride + 16 * t, rows, acc[t][k]);
  }
}

// Four tiles in flight for up to two columns; two for three or four, so the
// accumulators stay in registers.
template <int NC>
void decode_group(const uint8_t* p, size_t panel, int64_t nsb, int nt, const block_q8_k* const* yb, float* y,
                  int64_t y_stride, const int* n_rows) {
  constexpr int wide = NC <= 2 ? 4 : 2;
  auto step = [&](int t) { return nt - t >= wide ? wide : nt - t >= 2 ? 2 : 1; };
  for (int t = 0; t < nt;) {
    const int n = step(t), next_tiles = t + n < nt ? step(t + n) : 0;
    const uint8_t* tiles = p + panel * t;
    const uint8_t* next = tiles + panel * n;
    if (n == wide) decode_tiles<wide, NC>(tiles, panel, nsb, yb, y + 16 * t, y_stride, n_rows + t, next, next_tiles);
    else if (n == 2) decode_tiles<2, NC>(tiles, panel, nsb, yb, y + 16 * t, y_stride, n_rows + t, next, next_tiles);
    else decode_tiles<1, NC>(tiles, panel, nsb, yb, y + 16 * t, y_stride, n_rows + t, next, next_tiles);
    t += n;
  }
}

}  // namespace

size_t q4_k_decode_panel_bytes(int64_t cols) { return static_cast<size_t>(cols / qk_k) * k_superblock; }

void q4_k_write_decode_panel(const amx_weight& w, int64_t row_tile, uint8_t* panel) {
  const int64_t nsb = w.cols / qk_k;
  const int64_t r0 = row_tile * amx_tile;
  const int n_rows = static_cast<int>(w.rows - r0 < amx_tile ? w.rows - r0 : amx_tile);
  std::memset(panel, 0, q4_k_decode_panel_bytes(w.cols));  // rows past the end: all zero
  for (int n = 0; n < n_rows; ++n) {
    const auto* row = reinterpret_cast<const block_q4_k*>(w.data + static_cast<size_t>(r0 + n) * w.stride);
    for (int64_t b = 0; b < nsb; ++b) {
      const block_q4_k& blk = row[b];
      uint8_t* sb = panel + static_cast<size_t>(b) * k_superblock;
      uint8_t q[qk_k];  // element e of the superblock: chunk e/64, low nibbles first
      for (int c = 0; c < 4; ++c)
        for (int l = 0; l < 32; ++l) {
          q[64 * c + l] = blk.qs[32 * c + l] & 15;
          q[64 * c + 32 + l] = blk.qs[32 * c + l] >> 4;
        }
      uint8_t sc[8], m[8];
      unpack_scale_min_k4(blk.scales, sc, m);
      for (int s = 0; s < 8; ++s) {
        for (int i = 0; i < 4; ++i)
          for (int j = 0; j < 4; ++j)
            sb[k_quants + 256 * s + 64 * i + 4 * n + j] =
                static_cast<uint8_t>(q[32 * s + 4 * i + j] | (q[32 * s + 16 + 4 * i + j] << 4));
        sb[k_scales + 16 * s + n] = sc[s];
        sb[k_mins + 32 * (s / 2) + 2 * n + s % 2] = m[s];
      }
      std::memcpy(sb + k_d + 2 * n, &blk.d, 2);
      std::memcpy(sb + k_dmin + 2 * n, &blk.dmin, 2);
    }
  }
}

void q4_k_decode_panels(const uint8_t* panels, int64_t cols, int64_t rows, int64_t rt_begin, int64_t rt_end,
                        const void* x_q, size_t x_stride, int64_t n_cols, float* y, int64_t y_stride) {
  const int64_t nsb = cols / qk_k;
  const size_t panel = q4_k_decode_panel_bytes(cols);
  const auto* xb = static_cast<const uint8_t*>(x_q);
  int n_rows[64];
  for (int64_t rt = rt_begin; rt < rt_end; rt += 64) {
    const int nt = static_cast<int>(rt_end - rt < 64 ? rt_end - rt : 64);
    for (int t = 0; t < nt; ++t) {
      const int64_t r0 = (rt + t) * amx_tile;
      n_rows[t] = static_cast<int>(rows - r0 < amx_tile ? rows - r0 : amx_tile);
    }
    const uint8_t* p = panels + panel * static_cast<size_t>(rt);
    for (int64_t c = 0; c < n_cols; c += 4) {
      const block_q8_k* yb[4];
      const int nc = static_cast<int>(n_cols - c < 4 ? n_cols - c : 4);
      for (int k = 0; k < nc; ++k) yb[k] = reinterpret_cast<const block_q8_k*>(xb + static_cast<size_t>(c + k) * x_stride);
      float* yc = y + c * y_stride + rt * amx_tile;
      switch (nc) {
        case 4: decode_group<4>(p, panel, nsb, nt, yb, yc, y_stride, n_rows); break;
        case 3: decode_group<3>(p, panel, nsb, nt, yb, yc, y_stride, n_rows); break;
        case 2: decode_group<2>(p, panel, nsb, nt, yb, yc, y_stride, n_rows); break;
        default: decode_group<1>(p, panel, nsb, nt, yb, yc, y_stride, n_rows); break;
      }
    }
  }
}

}  // namespace r1::kernels::detail
