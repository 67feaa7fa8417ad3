// K-quant decode panels (Q4_K, Q6_K): the rows of a 16-row tile interleaved so that
// one 512-bit load holds 4 quants of every row for two groups of 4 columns (low
// and high nibbles; Q6_K adds its top 2 bits from a second stream), and one
// vpdpbusd with the activation's 4 bytes broadcast advances all 16 rows. The
// row-major 4-row dot kernels spend the unpacking, the scale multiplies and the
// horizontal sums per row; here 16 rows share them, and a decode becomes one
// sequential stream per task. AVX-512 VNNI; reached only on the amx path, from the
// copy amx_repack makes (amx_tiles.h has the layouts).
//
// Numerics: per superblock each row's scaled sums are exact integers (as in the
// dot kernels: Q4_K Σ_s sc_s·Σq·y and Σ_s m_s·Σy; Q6_K Σ_s sc_s·(Σq·y − 32·Σy));
// the row then adds (d·dy)·isum (and −(dmin·dy)·msum) with fused multiply-adds.
// The dot kernels round the same exact sums in another float order, so results
// agree to float rounding, not bit for bit.
#include <immintrin.h>

#include <cstring>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"        // GCC 12 on _mm512_undefined_* in the intrinsic headers
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 on _mm512_undefined_* in the intrinsic headers
#endif

#include "amx_tiles.h"
#include "blocks.h"

namespace r1::kernels::detail {
namespace {

constexpr size_t k_prefetch = 4096;  // bytes ahead of the superblock being read

inline int32_t load_i32(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline __m512i bcast(const int8_t* p) { return _mm512_set1_epi32(load_i32(p)); }

// One superblock of a 16-row Q4_K tile (36 cache lines, the file's bytes exactly:
// the 6-bit scales and mins keep 6 bits each, 2 of every min beside its scale).
struct q4_k_panel {
  static constexpr size_t quants = 0;       // sub-block p (32 elements): 4 loads of 64 bytes at 256·p
  static constexpr size_t scale_pairs = 2048;  // sub-blocks 2q, 2q+1: 32 bytes at 32·q, row n's at 2n, 2n+1:
                                               // the scale in bits 0-5, the min's bits 4-5 in bits 6-7
  static constexpr size_t min_lows = 2176;  // sub-blocks 2q, 2q+1: 16 bytes at 16·q, row n's byte: the
                                            // low 4 bits of min 2q, then of min 2q+1
  static constexpr size_t d = 2240;         // 16 fp16 d
  static constexpr size_t dmin = 2272;      // 16 fp16 dmin
  static constexpr size_t bytes = 2304;
  static constexpr size_t block_bytes = sizeof(block_q4_k);
  static constexpr int lines_per_unit = 5;

  // Sums of sub-blocks 2p and 2p+1 of a Q8_K block as an int16 pair (|sum| ≤ 32·128).
  static int32_t bsum_pair(const block_q8_k& b, int p) {
    return pack_int16_pair(b.bsums[4 * p] + b.bsums[4 * p + 1], b.bsums[4 * p + 2] + b.bsums[4 * p + 3]);
  }

  // Row n's bytes of sub-blocks 2q, 2q+1 as the int16 pair of 32-bit lane n.
  static __m512i pair_bytes(const uint8_t* sb, int q) {
    return _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(sb + scale_pairs + 32 * q)));
  }

  // isum[k] += sc·Σq·y of sub-block p (32 elements: the low nibbles hold its first
  // 16, the high ones the rest) of the superblock at sb, against columns yb[k], block b.
  template <int NC>
  static void unit(const uint8_t* sb, int p, const block_q8_k* const* yb, int64_t b, __m512i (&isum)[NC]) {
    const __m512i nibble = _mm512_set1_epi8(0x0f);
    const __m512i pair = pair_bytes(sb, p / 2);
    const __m512i sc = _mm512_and_si512(p % 2 ? _mm512_srli_epi32(pair, 16) : pair, _mm512_set1_epi32(0x3f));
    __m512i lo[4], hi[4];
    for (int i = 0; i < 4; ++i) {
      const __m512i q = _mm512_loadu_si512(sb + quants + 256 * p + 64 * i);
      lo[i] = _mm512_and_si512(q, nibble);
      hi[i] = _mm512_and_si512(_mm512_srli_epi16(q, 4), nibble);
    }
    for (int k = 0; k < NC; ++k) {
      const int8_t* y = yb[k][b].qs + 32 * p;
      __m512i sum = _mm512_setzero_si512();
      for (int i = 0; i < 4; ++i) {
        sum = _mm512_dpbusd_epi32(sum, lo[i], bcast(y + 4 * i));
        sum = _mm512_dpbusd_epi32(sum, hi[i], bcast(y + 16 + 4 * i));
      }
      isum[k] = _mm512_add_epi32(isum[k], _mm512_mullo_epi32(sum, sc));
    }
  }

  template <int NC>
  static void finish(const uint8_t* sb, const block_q8_k* const* yb, int64_t b, const __m512i (&isum)[NC],
                     __m512 (&acc)[NC]) {
    // Row n's mins 2q, 2q+1 as an int16 pair: the low 4 bits from min_lows (the
    // byte in bits 0-7 and again from bit 12, masked to bits 0-3 and 16-19), the top
    // 2 from bits 6-7 of each scale byte.
    __m512i m[4];
    for (int q = 0; q < 4; ++q) {
      const __m512i lows = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sb + min_lows + 16 * q)));
      const __m512i low_pair = _mm512_and_si512(_mm512_or_si512(lows, _mm512_slli_epi32(lows, 12)), _mm512_set1_epi32(0x000f000f));
      const __m512i top_pair = _mm512_and_si512(_mm512_srli_epi16(pair_bytes(sb, q), 2), _mm512_set1_epi16(0x30));
      m[q] = _mm512_or_si512(low_pair, top_pair);
    }
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(sb + d)));
    const __m512 dm = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(sb + dmin)));
    for (int k = 0; k < NC; ++k) {
      __m512i msum = _mm512_setzero_si512();
      for (int q = 0; q < 4; ++q) msum = _mm512_dpwssd_epi32(msum, m[q], _mm512_set1_epi32(bsum_pair(yb[k][b], q)));
      const __m512 dy = _mm512_set1_ps(yb[k][b].d);
      acc[k] = _mm512_fmadd_ps(_mm512_mul_ps(dw, dy), _mm512_cvtepi32_ps(isum[k]), acc[k]);
      acc[k] = _mm512_fnmadd_ps(_mm512_mul_ps(dm, dy), _mm512_cvtepi32_ps(msum), acc[k]);
    }
  }

  static void write(const uint8_t* block, int n, uint8_t* sb) {
    const auto& blk = *reinterpret_cast<const block_q4_k*>(block);
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
          sb[quants + 256 * s + 64 * i + 4 * n + j] = static_cast<uint8_t>(q[32 * s + 4 * i + j] | (q[32 * s + 16 + 4 * i + j] << 4));
      sb[scale_pairs + 32 * (s / 2) + 2 * n + s % 2] = static_cast<uint8_t>(sc[s] | (m[s] >> 4) << 6);
      sb[min_lows + 16 * (s / 2) + n] |= static_cast<uint8_t>((m[s] & 15) << (4 * (s % 2)));
    }
    std::memcpy(sb + d + 2 * n, &blk.d, 2);
    std::memcpy(sb + dmin + 2 * n, &blk.dmin, 2);
  }
};

// One superblock of a 16-row Q6_K tile (53 cache lines, the last half padding).
struct q6_k_panel {
  static constexpr size_t quants = 0;     // low 4 bits of elements 32p..32p+31 (unit p) at 256·p, as Q4_K's
  static constexpr size_t highs = 2048;   // top 2 bits, unit p: 2 loads at 128·p (low, high nibble groups)
  static constexpr size_t scales = 3072;  // sub-block s (16 elements): 16 int8 at 16·s
  static constexpr size_t d = 3328;       // 16 fp16
  static constexpr size_t bytes = 3392;
  static constexpr size_t block_bytes = sizeof(block_q6_k);
  static constexpr int lines_per_unit = 7;

  // Quants of group i from its low nibbles (already in bits 0-3 with junk above)
  // and the top-bits byte h, whose bits 2i, 2i+1 go to bits 4, 5. 16-bit shifts
  // carry bits across bytes only outside the masks.
  template <int I>
  static __m512i combine(__m512i nib, __m512i h) {
    const __m512i top = _mm512_set1_epi8(0x30), low = _mm512_set1_epi8(0x0f);
    __m512i s;
    if constexpr (I == 0) s = _mm512_slli_epi16(h, 4);
    else if constexpr (I == 1) s = _mm512_slli_epi16(h, 2);
    else if constexpr (I == 2) s = h;
    else s = _mm512_srli_epi16(h, 2);
    // (nib & 0x0f) | (s & 0x30): and, then a ternary (a & c) | b.
    return _mm512_ternarylogic_epi32(nib, _mm512_and_si512(s, top), low, 0xEC);
  }

  template <int NC>
  static void unit(const uint8_t* sb, int p, const block_q8_k* const* yb, int64_t b, __m512i (&isum)[NC]) {
    const __m512i sc_lo = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sb + scales + 32 * p)));
    const __m512i sc_hi = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sb + scales + 32 * p + 16)));
    const __m512i h_lo = _mm512_loadu_si512(sb + highs + 128 * p), h_hi = _mm512_loadu_si512(sb + highs + 128 * p + 64);
    __m512i lo[4], hi[4], nib[4];
    for (int i = 0; i < 4; ++i) nib[i] = _mm512_loadu_si512(sb + quants + 256 * p + 64 * i);
    lo[0] = combine<0>(nib[0], h_lo), hi[0] = combine<0>(_mm512_srli_epi16(nib[0], 4), h_hi);
    lo[1] = combine<1>(nib[1], h_lo), hi[1] = combine<1>(_mm512_srli_epi16(nib[1], 4), h_hi);
    lo[2] = combine<2>(nib[2], h_lo), hi[2] = combine<2>(_mm512_srli_epi16(nib[2], 4), h_hi);
    lo[3] = combine<3>(nib[3], h_lo), hi[3] = combine<3>(_mm512_srli_epi16(nib[3], 4), h_hi);
    for (int k = 0; k < NC; ++k) {
      const block_q8_k& yk = yb[k][b];
      const int8_t* y = yk.qs + 32 * p;
      // The −32 of every quant: −32·Σy of the sub-block, its Q8_K block sum.
      __m512i s_lo = _mm512_set1_epi32(-32 * yk.bsums[2 * p]), s_hi = _mm512_set1_epi32(-32 * yk.bsums[2 * p + 1]);
      for (int i = 0; i < 4; ++i) {
        s_lo = _mm512_dpbusd_epi32(s_lo, lo[i], bcast(y + 4 * i));
        s_hi = _mm512_dpbusd_epi32(s_hi, hi[i], bcast(y + 16 + 4 * i));
      }
      isum[k] = _mm512_add_epi32(isum[k], _mm512_add_epi32(_mm512_mullo_epi32(s_lo, sc_lo), _mm512_mullo_epi32(s_hi, sc_hi)));
    }
  }

  template <int NC>
  static void finish(const uint8_t* sb, const block_q8_k* const* yb, int64_t b, const __m512i (&isum)[NC],
                     __m512 (&acc)[NC]) {
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(sb + d)));
    for (int k = 0; k < NC; ++k)
      acc[k] = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(yb[k][b].d)), _mm512_cvtepi32_ps(isum[k]), acc[k]);
  }

  static void write(const uint8_t* block, int n, uint8_t* sb) {
    const auto& blk = *reinterpret_cast<const block_q6_k*>(block);
    uint8_t q[qk_k];  // 0..63, element order
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = blk.ql + 64 * half;
      const uint8_t* qh = blk.qh + 32 * half;
      uint8_t* out = q + 128 * half;
      for (int l = 0; l < 32; ++l) {
        out[l] = static_cast<uint8_t>((ql[l] & 15) | ((qh[l] & 3) << 4));
        out[l + 32] = static_cast<uint8_t>((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4));
        out[l + 64] = static_cast<uint8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
        out[l + 96] = static_cast<uint8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
      }
    }
    for (int p = 0; p < 8; ++p)
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) {
          const int e_lo = 32 * p + 4 * i + j, e_hi = e_lo + 16;
          sb[quants + 256 * p + 64 * i + 4 * n + j] = static_cast<uint8_t>((q[e_lo] & 15) | ((q[e_hi] & 15) << 4));
          sb[highs + 128 * p + 4 * n + j] |= static_cast<uint8_t>((q[e_lo] >> 4) << (2 * i));
          sb[highs + 128 * p + 64 + 4 * n + j] |= static_cast<uint8_t>((q[e_hi] >> 4) << (2 * i));
        }
    for (int s = 0; s < 16; ++s) sb[scales + 16 * s + n] = static_cast<uint8_t>(blk.scales[s]);
    std::memcpy(sb + d + 2 * n, &blk.d, 2);
  }
};

// NT consecutive row tiles (panels `panel_bytes` apart) against NC columns (column
// k's blocks at yb[k]): y[k·y_stride + 16t + n] for n < n_rows[t]. Each output
// takes the same operations whatever NT and NC, so a batch gives each column the
// bits of its own decode. `next`: the following group of `next_tiles` tiles, where
// each tile's prefetch stream goes on past its end.
template <class F, int NT, int NC>
void decode_tiles(const uint8_t* panel, size_t panel_bytes, int64_t nsb, const block_q8_k* const* yb, float* y,
                  int64_t y_stride, const int* n_rows, const uint8_t* next, int next_tiles) {
  constexpr int n_lines = static_cast<int>(F::bytes / 64);
  static_assert(F::bytes % 64 == 0 && 8 * F::lines_per_unit >= n_lines);
  __m512 acc[NT][NC];
  for (int t = 0; t < NT; ++t)
    for (int k = 0; k < NC; ++k) acc[t][k] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nsb; ++b) {
    __m512i isum[NT][NC];
    for (int t = 0; t < NT; ++t)
      for (int k = 0; k < NC; ++k) isum[t][k] = _mm512_setzero_si512();
    // Unrolled, so that isum stays in registers: rolled, GCC 12 kept it on the stack
    // and every unit waited on a store-to-load forward (in L2, 1.4x slower).
#pragma GCC unroll 8
    for (int p = 0; p < 8; ++p) {
#pragma GCC unroll 4
      for (int t = 0; t < NT; ++t) {
        // The lines k_prefetch bytes ahead, a few per unit, spread between the
        // arithmetic so that a burst never stalls on the line fill buffers. Past the
        // tile's end, tile t's stream goes on in the same tile of the next group (a
        // 1536-column tile is only 6 superblocks long).
#pragma GCC unroll 8
        for (int j = 0; j < F::lines_per_unit; ++j) {
          const int line = F::lines_per_unit * p + j;
          if (line >= n_lines) break;
          const size_t ahead = static_cast<size_t>(b) * F::bytes + k_prefetch + 64 * static_cast<size_t>(line);
          if (ahead < panel_bytes)
            _mm_prefetch(reinterpret_cast<const char*>(panel + panel_bytes * t + ahead), _MM_HINT_T0);
          else if (t < next_tiles && ahead - panel_bytes < panel_bytes)
            _mm_prefetch(reinterpret_cast<const char*>(next + panel_bytes * t + (ahead - panel_bytes)), _MM_HINT_T0);
        }
        F::template unit<NC>(panel + panel_bytes * t + static_cast<size_t>(b) * F::bytes, p, yb, b, isum[t]);
      }
    }
    for (int t = 0; t < NT; ++t)
      F::template finish<NC>(panel + panel_bytes * t + static_cast<size_t>(b) * F::bytes, yb, b, isum[t], acc[t]);
  }
  for (int t = 0; t < NT; ++t) {
    const __mmask16 rows = tile_row_mask(n_rows[t]);
    for (int k = 0; k < NC; ++k) _mm512_mask_storeu_ps(y + k * y_stride + 16 * t, rows, acc[t][k]);
  }
}

// Tiles in flight: four for a decode (one column), two for a small batch, whose
// accumulators (2 × NC of each kind) then still fit in registers. With the
// contiguous shares and every panel on huge pages, four streams per core read a
// 1536-column matrix (tiles 14 KiB long) at 0.90-0.94 of the read bandwidth against
// 0.83-0.88 with two, and the 1.5B Q4_K_M decoded 2 % faster (bench/RESULTS.md,
// "Decode panels in one arena"; before those two changes four were 1-3 % slower).
// `after`: row tiles of the matrix past these nt, where the last group's prefetch
// goes on (the pool runs a thread's tasks in row order, so they are most likely
// this thread's next).
template <class F, int NC>
void decode_group(const uint8_t* p, size_t panel, int64_t nsb, int nt, int64_t after, const block_q8_k* const* yb,
                  float* y, int64_t y_stride, const int* n_rows) {
  constexpr int widest = NC == 1 ? 4 : 2;
  auto step = [&](int t) { return widest == 4 && nt - t >= 4 ? 4 : nt - t >= 2 ? 2 : 1; };
  for (int t = 0; t < nt;) {
    const int n = step(t);
    const int next_tiles = t + n < nt ? step(t + n) : static_cast<int>(after < n ? after : n);
    const uint8_t* tiles = p + panel * t;
    const uint8_t* next = tiles + panel * n;
    if (n == 4) decode_tiles<F, 4, NC>(tiles, panel, nsb, yb, y + 16 * t, y_stride, n_rows + t, next, next_tiles);
    else if (n == 2) decode_tiles<F, 2, NC>(tiles, panel, nsb, yb, y + 16 * t, y_stride, n_rows + t, next, next_tiles);
    else decode_tiles<F, 1, NC>(tiles, panel, nsb, yb, y + 16 * t, y_stride, n_rows + t, next, next_tiles);
    t += n;
  }
}

template <class F>
size_t panel_bytes(int64_t cols) { return static_cast<size_t>(cols / qk_k) * F::bytes; }

template <class F>
void write_panel(const amx_weight& w, int64_t row_tile, uint8_t* panel) {
  const int64_t nsb = w.cols / qk_k;
  const int64_t r0 = row_tile * amx_tile;
  const int n_rows = tile_part(w.rows - r0);
  const size_t block = F::block_bytes;
  std::memset(panel, 0, panel_bytes<F>(w.cols));  // rows past the end: all zero
  for (int n = 0; n < n_rows; ++n) {
    const uint8_t* row = w.data + static_cast<size_t>(r0 + n) * w.stride;
    for (int64_t b = 0; b < nsb; ++b) F::write(row + block * static_cast<size_t>(b), n, panel + static_cast<size_t>(b) * F::bytes);
  }
}

template <class F>
void decode_panels(const uint8_t* panels, int64_t cols, int64_t rows, int64_t rt_begin, int64_t rt_end, const void* x_q,
                   size_t x_stride, int64_t n_cols, float* y, int64_t y_stride) {
  const int64_t nsb = cols / qk_k;
  const size_t panel = panel_bytes<F>(cols);
  const auto* xb = static_cast<const uint8_t*>(x_q);
  int n_rows[64];
  for (int64_t rt = rt_begin; rt < rt_end; rt += 64) {
    const int nt = static_cast<int>(rt_end - rt < 64 ? rt_end - rt : 64);
    for (int t = 0; t < nt; ++t) {
      const int64_t r0 = (rt + t) * amx_tile;
      n_rows[t] = tile_part(rows - r0);
    }
    const uint8_t* p = panels + panel * static_cast<size_t>(rt);
    const int64_t after = (rows + amx_tile - 1) / amx_tile - (rt + nt);
    for (int64_t c = 0; c < n_cols; c += 4) {
      const block_q8_k* yb[4];
      const int nc = static_cast<int>(n_cols - c < 4 ? n_cols - c : 4);
      for (int k = 0; k < nc; ++k) yb[k] = reinterpret_cast<const block_q8_k*>(xb + static_cast<size_t>(c + k) * x_stride);
      float* yc = y + c * y_stride + rt * amx_tile;
      switch (nc) {
        case 4: decode_group<F, 4>(p, panel, nsb, nt, after, yb, yc, y_stride, n_rows); break;
        case 3: decode_group<F, 3>(p, panel, nsb, nt, after, yb, yc, y_stride, n_rows); break;
        case 2: decode_group<F, 2>(p, panel, nsb, nt, after, yb, yc, y_stride, n_rows); break;
        default: decode_group<F, 1>(p, panel, nsb, nt, after, yb, yc, y_stride, n_rows); break;
      }
    }
  }
}

}  // namespace

size_t q4_k_decode_panel_bytes(int64_t cols) { return panel_bytes<q4_k_panel>(cols); }
size_t q6_k_decode_panel_bytes(int64_t cols) { return panel_bytes<q6_k_panel>(cols); }

void q4_k_write_decode_panel(const amx_weight& w, int64_t row_tile, uint8_t* panel) {
  write_panel<q4_k_panel>(w, row_tile, panel);
}
void q6_k_write_decode_panel(const amx_weight& w, int64_t row_tile, uint8_t* panel) {
  write_panel<q6_k_panel>(w, row_tile, panel);
}

void q4_k_decode_panels(const uint8_t* panels, int64_t cols, int64_t rows, int64_t rt_begin, int64_t rt_end,
                        const void* x_q, size_t x_stride, int64_t n_cols, float* y, int64_t y_stride) {
  decode_panels<q4_k_panel>(panels, cols, rows, rt_begin, rt_end, x_q, x_stride, n_cols, y, y_stride);
}
void q6_k_decode_panels(const uint8_t* panels, int64_t cols, int64_t rows, int64_t rt_begin, int64_t rt_end,
                        const void* x_q, size_t x_stride, int64_t n_cols, float* y, int64_t y_stride) {
  decode_panels<q6_k_panel>(panels, cols, rows, rt_begin, rt_end, x_q, x_stride, n_cols, y, y_stride);
}

}  // namespace r1::kernels::detail
