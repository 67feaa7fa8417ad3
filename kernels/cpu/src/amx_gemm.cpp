// AMX-INT8 prompt GEMM kernels (Q4_K, Q5_K, Q6_K, Q8_0, Q4_0 weights). The only
// file built with -mamx-tile -mamx-int8; reached only through amx_kernels after
// matmul.cpp has checked that the amx path is active (cpuid, XCR0 and the
// kernel's grant of tile data). Every helper is static / anonymous so no AMX or
// AVX-512 instruction can leak into inline code shared with baseline files.
//
// K-quants: a weight element is d·sc·q − dmin·m (Q4_K/Q5_K) or d·sc·(q − 32)
// (Q6_K). The integer sc·q (≤ 1953) or sc·(q − 32) (|·| ≤ 4096) fits in int16;
// its low byte (u8) and high byte (s8) are two A tiles, so a superblock is
// tdpbusd(lo) + 256·tdpbssd(hi) over the full 64-byte tile depth, and the float
// scales are applied once per 256 elements. The Q4_K/Q5_K mins term
// Σ m·bsum32 uses the activations' block sums (vpdpwssd). The integers equal
// those of the VNNI kernels, so results differ from them only by float
// summation order. Q8_0/Q4_0: one 32-byte tile step per block, scaled per block.
#include <immintrin.h>

#include <cstring>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include "amx_tiles.h"

namespace r1::kernels::detail {
namespace {

// Tiles 0,1: A (16 × a_bytes); 2,3: B (b_rows × 64); 4..7: C (16 × 16 int32).
void configure_tiles(int a_bytes, int b_rows) {
  amx_tile_config c;
  std::memset(&c, 0, sizeof(c));
  c.palette = 1;
  for (int i = 0; i < 2; ++i) c.rows[i] = 16, c.colsb[i] = static_cast<uint16_t>(a_bytes);
  for (int i = 2; i < 4; ++i) c.rows[i] = static_cast<uint8_t>(b_rows), c.colsb[i] = 64;
  for (int i = 4; i < 8; ++i) c.rows[i] = 16, c.colsb[i] = 64;
  _tile_loadconfig(&c);
}

inline float h2f(uint16_t h) { return _cvtsh_ss(h); }
inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m512i widen(__m256i q) { return _mm512_cvtepu8_epi16(q); }
inline __m512i scale_pair(int a, int b) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16(static_cast<int16_t>(a))),
                            _mm256_set1_epi16(static_cast<int16_t>(b)), 1);
}
inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// ---- K-quant panel: per superblock, 16 rows of int16 split into byte planes ----
// Each byte plane is 4 A tiles (K steps of 64) stored one after another, a tile
// as 16 rows × 64 contiguous bytes: the tile loads then read 1 KiB runs in order,
// which the hardware prefetchers follow when the panel comes from memory (a
// repacked copy) rather than from a buffer the task has just written.
constexpr size_t kq_lo = 0, kq_hi = 4096, kq_d = 8192, kq_dmin = 8256, kq_mins = 8320;
constexpr size_t kq_tile_bytes = 1024;
// Byte offset of row n's 64 quants of K step c within a plane.
constexpr size_t kq_at(int c, int n) { return kq_tile_bytes * static_cast<size_t>(c) + 64 * static_cast<size_t>(n); }
constexpr size_t kq_sb_bytes = 8576;

// 64 int16 values (a then b) to 64 low bytes (u8) and 64 high bytes (s8): one
// two-source byte permute per plane (AVX512_VBMI, present on every AMX CPU).
inline void store_split(__m512i a, __m512i b, uint8_t* lo, uint8_t* hi) {
  alignas(64) static constexpr uint8_t even[64] = {
      0,  2,  4,  6,  8,  10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 42,
      44, 46, 48, 50, 52, 54, 56, 58, 60, 62, 64, 66, 68, 70, 72, 74, 76, 78, 80, 82, 84, 86,
      88, 90, 92, 94, 96, 98, 100, 102, 104, 106, 108, 110, 112, 114, 116, 118, 120, 122, 124, 126};
  const __m512i ie = _mm512_load_si512(even);
  const __m512i io = _mm512_add_epi8(ie, _mm512_set1_epi8(1));
  _mm512_storeu_si512(lo, _mm512_permutex2var_epi8(a, ie, b));
  _mm512_storeu_si512(hi, _mm512_permutex2var_epi8(a, io, b));
}

template <bool five>
void unpack_q45_k(const void* block, int n, uint8_t* p) {
  const uint8_t *qs, *scales, *qh = nullptr;
  uint16_t d16, dmin16;
  if constexpr (five) {
    const auto* b = static_cast<const block_q5_k*>(block);
    qs = b->qs, scales = b->scales, qh = b->qh, d16 = b->d, dmin16 = b->dmin;
  } else {
    const auto* b = static_cast<const block_q4_k*>(block);
    qs = b->qs, scales = b->scales, d16 = b->d, dmin16 = b->dmin;
  }
  uint8_t sc[8], m[8];
  unpack_scale_min_k4(scales, sc, m);
  const __m256i m4 = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1);
  uint8_t* lo = p + kq_lo;
  uint8_t* hi = p + kq_hi;
  for (int c = 0; c < 4; ++c) {
    const __m256i q = load256(qs + 32 * c);
    __m256i a = _mm256_and_si256(q, m4), b = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
    if constexpr (five) {
      const __m256i h = load256(qh);
      a = _mm256_or_si256(a, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2 * c), one), 4));
      b = _mm256_or_si256(b, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2 * c + 1), one), 4));
    }
    store_split(_mm512_mullo_epi16(widen(a), _mm512_set1_epi16(sc[2 * c])),
                _mm512_mullo_epi16(widen(b), _mm512_set1_epi16(sc[2 * c + 1])), lo + kq_at(c, n), hi + kq_at(c, n));
  }
  reinterpret_cast<float*>(p + kq_d)[n] = h2f(d16);
  reinterpret_cast<float*>(p + kq_dmin)[n] = h2f(dmin16);
  auto* mins = reinterpret_cast<int32_t*>(p + kq_mins) + 4 * n;
  for (int i = 0; i < 4; ++i) mins[i] = static_cast<int32_t>(m[2 * i] | (static_cast<uint32_t>(m[2 * i + 1]) << 16));
}

void unpack_q6_k(const void* block, int n, uint8_t* p) {
  const auto* b = static_cast<const block_q6_k*>(block);
  const __m256i m4 = _mm256_set1_epi8(0x0f), m3 = _mm256_set1_epi8(0x03);
  const __m512i off = _mm512_set1_epi16(32);
  uint8_t* lo = p + kq_lo;
  uint8_t* hi = p + kq_hi;
  for (int h = 0; h < 2; ++h) {
    const __m256i qa = load256(b->ql + 64 * h), qb = load256(b->ql + 64 * h + 32), qh = load256(b->qh + 32 * h);
    __m256i g[4];
    g[0] = _mm256_and_si256(qa, m4);
    g[1] = _mm256_and_si256(qb, m4);
    g[2] = _mm256_and_si256(_mm256_srli_epi16(qa, 4), m4);
    g[3] = _mm256_and_si256(_mm256_srli_epi16(qb, 4), m4);
    __m512i w[4];
    for (int k = 0; k < 4; ++k) {
      const __m256i bits = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), m3), 4);
      const __m512i q = _mm512_sub_epi16(widen(_mm256_or_si256(g[k], bits)), off);
      w[k] = _mm512_mullo_epi16(q, scale_pair(b->scales[8 * h + 2 * k], b->scales[8 * h + 2 * k + 1]));
    }
    store_split(w[0], w[1], lo + kq_at(2 * h, n), hi + kq_at(2 * h, n));
    store_split(w[2], w[3], lo + kq_at(2 * h + 1, n), hi + kq_at(2 * h + 1, n));
  }
  reinterpret_cast<float*>(p + kq_d)[n] = h2f(b->d);
}

void zero_kq_row(int n, uint8_t* p) {
  for (int c = 0; c < 4; ++c) {
    std::memset(p + kq_lo + kq_at(c, n), 0, 64);
    std::memset(p + kq_hi + kq_at(c, n), 0, 64);
  }
  reinterpret_cast<float*>(p + kq_d)[n] = 0.0f;
  reinterpret_cast<float*>(p + kq_dmin)[n] = 0.0f;
  std::memset(p + kq_mins + 16 * n, 0, 16);
}

// acc[u][n][j] += this superblock's contribution for token tile u, weight row n, column j.
template <bool mins>
void kq_post(const uint8_t* p, const amx_packed_act& act, int64_t tb, const int32_t* c, float* acc) {
  const float* dw = reinterpret_cast<const float*>(p + kq_d);
  const float* dmw = reinterpret_cast<const float*>(p + kq_dmin);
  const int32_t* mw = reinterpret_cast<const int32_t*>(p + kq_mins);
  const __m512 da = _mm512_loadu_ps(act.scales + tb * amx_tile);
  __m512i bp[4];
  if constexpr (mins)
    for (int i = 0; i < 4; ++i) bp[i] = _mm512_loadu_si512(act.bsum_pairs + (tb * 4 + i) * amx_tile);
  for (int n = 0; n < amx_tile; ++n) {
    const __m512i v = _mm512_add_epi32(_mm512_loadu_si512(c + 16 * n), _mm512_slli_epi32(_mm512_loadu_si512(c + 256 + 16 * n), 8));
    __m512 a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(v), _mm512_mul_ps(da, _mm512_set1_ps(dw[n])), _mm512_loadu_ps(acc + 16 * n));
    if constexpr (mins) {
      __m512i mi = _mm512_setzero_si512();
      for (int i = 0; i < 4; ++i) mi = _mm512_dpwssd_epi32(mi, _mm512_set1_epi32(mw[4 * n + i]), bp[i]);
      a = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(mi), _mm512_mul_ps(da, _mm512_set1_ps(dmw[n])), a);
    }
    _mm512_storeu_ps(acc + 16 * n, a);
  }
}

// NT token tiles (1 or 2) starting at t0 against the unpacked panel; acc [NT][16][16].
template <int NT, bool mins>
void kq_tiles(const uint8_t* panel, int64_t nsb, const amx_packed_act& act, int64_t t0, int32_t* cbuf, float* acc) {
  for (int64_t s = 0; s < nsb; ++s) {
    const uint8_t* p = panel + static_cast<size_t>(s) * kq_sb_bytes;
    const uint8_t* b0 = act.quants + static_cast<size_t>(t0 * act.n_kblocks + s) * 4096;
    const uint8_t* b1 = b0 + static_cast<size_t>(act.n_kblocks) * 4096;
    _tile_zero(4);
    _tile_zero(5);
    if constexpr (NT == 2) {
      _tile_zero(6);
      _tile_zero(7);
    }
    for (int ks = 0; ks < 4; ++ks) {
      _tile_loadd(0, p + kq_lo + kq_at(ks, 0), 64);
      _tile_loadd(1, p + kq_hi + kq_at(ks, 0), 64);
      _tile_loadd(2, b0 + 1024 * ks, 64);
      _tile_dpbusd(4, 0, 2);
      _tile_dpbssd(5, 1, 2);
      if constexpr (NT == 2) {
        _tile_loadd(3, b1 + 1024 * ks, 64);
        _tile_dpbusd(6, 0, 3);
        _tile_dpbssd(7, 1, 3);
      }
    }
    _tile_stored(4, cbuf, 64);
    _tile_stored(5, cbuf + 256, 64);
    if constexpr (NT == 2) {
      _tile_stored(6, cbuf + 512, 64);
      _tile_stored(7, cbuf + 768, 64);
    }
    for (int u = 0; u < NT; ++u) kq_post<mins>(p, act, (t0 + u) * act.n_kblocks + s, cbuf + 512 * u, acc + 256 * u);
  }
}

// acc [nt][16 rows][16 cols] -> y (valid rows and columns only). A column's 16
// rows are contiguous in y: gathered from acc and written as one (masked) vector,
// a whole cache line when y is aligned (scalar stores here cost a fifth of a
// prompt: y of a gate/up projection is 18 MiB and every line is written from cold).
void write_out(const float* acc, int nt, int64_t t, int64_t r0, int64_t n_rows, int64_t n_cols, float* y,
               int64_t y_stride) {
  const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                         _mm512_set1_epi32(16));
  const __mmask16 rows = tile_row_mask(n_rows);
  for (int u = 0; u < nt; ++u)
    for (int j = 0; j < amx_tile; ++j) {
      const int64_t c = (t + u) * amx_tile + j;
      if (c >= n_cols) return;
      const __m512 v = _mm512_i32gather_ps(_mm512_add_epi32(idx, _mm512_set1_epi32(j)), acc + 256 * u, 4);
      _mm512_mask_storeu_ps(y + c * y_stride + r0, rows, v);
    }
}

// ---- Q8_0 / Q4_0: per 32-element block, 16 rows × 32 s8 and the row scales ----
constexpr size_t q8_block_bytes = 512 + 64;

template <bool four>
void unpack_q8_0_like(const void* block, int n, uint8_t* p) {
  int8_t* q = reinterpret_cast<int8_t*>(p) + 32 * n;
  if constexpr (four) {
    const auto* b = static_cast<const block_q4_0*>(block);
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b->qs));
    const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(v), _mm_srli_epi16(v, 4), 1);
    const __m256i w = _mm256_sub_epi8(_mm256_and_si256(both, _mm256_set1_epi8(0x0f)), _mm256_set1_epi8(8));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), w);
    reinterpret_cast<float*>(p + 512)[n] = h2f(b->d);
  } else {
    const auto* b = static_cast<const block_q8_0*>(block);
    std::memcpy(q, b->qs, 32);
    reinterpret_cast<float*>(p + 512)[n] = h2f(b->d);
  }
}

template <int NT>
void q8_tiles(const uint8_t* panel, int64_t nb, const amx_packed_act& act, int64_t t0, int32_t* cbuf, float* acc) {
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* p = panel + static_cast<size_t>(b) * q8_block_bytes;
    const uint8_t* b0 = act.quants + static_cast<size_t>(t0 * act.n_kblocks + b) * 512;
    _tile_loadd(0, p, 32);
    _tile_loadd(2, b0, 64);
    _tile_zero(4);
    _tile_dpbssd(4, 0, 2);
    _tile_stored(4, cbuf, 64);
    if constexpr (NT == 2) {
      _tile_loadd(3, b0 + static_cast<size_t>(act.n_kblocks) * 512, 64);
      _tile_zero(6);
      _tile_dpbssd(6, 0, 3);
      _tile_stored(6, cbuf + 256, 64);
    }
    const float* dw = reinterpret_cast<const float*>(p + 512);
    for (int u = 0; u < NT; ++u) {
      const __m512 da = _mm512_loadu_ps(act.scales + ((t0 + u) * act.n_kblocks + b) * amx_tile);
      const int32_t* c = cbuf + 256 * u;
      float* a = acc + 256 * u;
      for (int n = 0; n < amx_tile; ++n)
        _mm512_storeu_ps(a + 16 * n, _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_loadu_si512(c + 16 * n)),
                                                     _mm512_mul_ps(da, _mm512_set1_ps(dw[n])), _mm512_loadu_ps(a + 16 * n)));
    }
  }
}

// The format traits of the task below: panel block size, unpacking, tile shapes
// and the tile loop for NT token tiles.
template <int kind>  // 4: Q4_K, 5: Q5_K, 6: Q6_K
struct kq_format {
  static constexpr int64_t block_elems = qk_k;
  static constexpr size_t block_bytes =
      kind == 4 ? sizeof(block_q4_k) : kind == 5 ? sizeof(block_q5_k) : sizeof(block_q6_k);
  static constexpr size_t panel_bytes = kq_sb_bytes;
  static constexpr int a_bytes = 64, b_rows = 16;
  static void unpack(const void* blk, int n, uint8_t* p) {
    if constexpr (kind == 6) unpack_q6_k(blk, n, p);
    else unpack_q45_k<kind == 5>(blk, n, p);
  }
  static void zero(int n, uint8_t* p) { zero_kq_row(n, p); }
  template <int NT>
  static void tiles(const uint8_t* panel, int64_t nb, const amx_packed_act& act, int64_t t0, int32_t* cbuf, float* acc) {
    kq_tiles<NT, kind != 6>(panel, nb, act, t0, cbuf, acc);
  }
};

template <bool four>
struct q8_format {
  static constexpr int64_t block_elems = qk_legacy;
  static constexpr size_t block_bytes = four ? sizeof(block_q4_0) : sizeof(block_q8_0);
  static constexpr size_t panel_bytes = q8_block_bytes;
  static constexpr int a_bytes = 32, b_rows = 8;
  static void unpack(const void* blk, int n, uint8_t* p) { unpack_q8_0_like<four>(blk, n, p); }
  static void zero(int n, uint8_t* p) {
    std::memset(p + 32 * n, 0, 32);
    reinterpret_cast<float*>(p + 512)[n] = 0.0f;
  }
  template <int NT>
  static void tiles(const uint8_t* panel, int64_t nb, const amx_packed_act& act, int64_t t0, int32_t* cbuf, float* acc) {
    q8_tiles<NT>(panel, nb, act, t0, cbuf, acc);
  }
};

// The unpacked panel of one 16-row tile: every block of K, F::panel_bytes each.
template <typename F>
size_t panel_bytes(int64_t cols) {
  return static_cast<size_t>(cols / F::block_elems) * F::panel_bytes;
}

// Work buffer: the unpacked panel (absent when the weights are repacked: see
// amx_matmul), then acc (2 KiB), then the C tiles (4 KiB).
template <typename F>
size_t work_bytes(int64_t cols) {
  return panel_bytes<F>(cols) + 2048 + 4096;
}

// Unpacks weight rows 16*rt.. (+16, zeros past the last row) into `panel`. Row by
// row, so that each weight row is one sequential stream (the weights of a prompt
// GEMM come from DRAM); the next row is prefetched meanwhile. Also the repacking
// step (amx_repack_rows), so a repacked panel is byte for byte this one.
template <typename F>
void unpack_tile(const amx_weight& w, int64_t rt, uint8_t* panel) {
  const int64_t nb = w.cols / F::block_elems;
  const int64_t r0 = rt * amx_tile, n_rows = min64(amx_tile, w.rows - r0);
  for (int n = 0; n < amx_tile; ++n) {
    const uint8_t* row = w.data + static_cast<size_t>(r0 + n) * w.stride;
    if (n + 1 < n_rows)
      for (size_t off = 0; off < 1024 && off < w.stride; off += 64) _mm_prefetch(reinterpret_cast<const char*>(row + w.stride + off), _MM_HINT_T0);
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* p = panel + static_cast<size_t>(b) * F::panel_bytes;
      if (n < n_rows) {
        const uint8_t* blk = row + static_cast<size_t>(b) * F::block_bytes;
        _mm_prefetch(reinterpret_cast<const char*>(blk) + 1024, _MM_HINT_T0);
        F::unpack(blk, n, p);
      } else {
        F::zero(n, p);
      }
    }
  }
}

// One task: the row tile's panel (the repacked one, or unpacked here into the
// work buffer), then its token tiles two at a time (one at an odd end), each
// result written out. `next`: the repacked panel this thread multiplies next.
template <typename F>
void task(const amx_weight& w, const amx_packed_act& act, int64_t rt, int64_t tt0, int64_t tt1,
          const uint8_t* packed, const uint8_t* next, uint8_t* work, float* y, int64_t y_stride, int64_t n_cols) {
  const int64_t nb = w.cols / F::block_elems;
  const int64_t r0 = rt * amx_tile, n_rows = min64(amx_tile, w.rows - r0);
  const uint8_t* panel = packed;
  if (panel == nullptr) {
    unpack_tile<F>(w, rt, work);
    panel = work;
    work += panel_bytes<F>(w.cols);
  }
  // The next panel streams into L2 a slice per token pair, hidden behind the tile
  // products (read in one burst when first needed, it costs more than the unpacking).
  const size_t next_bytes = next ? panel_bytes<F>(w.cols) : 0;
  const size_t slice = (next_bytes / static_cast<size_t>((tt1 - tt0 + 1) / 2) + 63) & ~static_cast<size_t>(63);
  size_t fetched = 0;
  float* acc = reinterpret_cast<float*>(work);
  int32_t* cbuf = reinterpret_cast<int32_t*>(acc + 512);
  configure_tiles(F::a_bytes, F::b_rows);
  for (int64_t t = tt0; t < tt1; t += 2) {
    for (const size_t end = fetched + slice < next_bytes ? fetched + slice : next_bytes; fetched < end; fetched += 64)
      _mm_prefetch(reinterpret_cast<const char*>(next + fetched), _MM_HINT_T1);
    const int nt = t + 1 < tt1 ? 2 : 1;
    std::memset(acc, 0, sizeof(float) * 256 * static_cast<size_t>(nt));
    if (nt == 2) F::template tiles<2>(panel, nb, act, t, cbuf, acc);
    else F::template tiles<1>(panel, nb, act, t, cbuf, acc);
    write_out(acc, nt, t, r0, n_rows, n_cols, y, y_stride);
  }
  _tile_release();
}

// Q8_K activation row, bit for bit what quantize_row(Q8_K) gives: max = the
// first element of largest magnitude (signed), iscale = −127/max, q = min(127,
// round half even(iscale·x)) — the vector conversion rounds as the scalar magic
// number does for |v| ≤ 127 — bsums of 16, d = 1/iscale.
void quantize_q8_k_row(const float* x, void* dst, int64_t n) {
  auto* y = static_cast<block_q8_k*>(dst);
  const __m512 sign = _mm512_set1_ps(-0.0f);
  for (int64_t i = 0; i < n / qk_k; ++i, x += qk_k) {
    __m512 amax = _mm512_setzero_ps();
    for (int j = 0; j < qk_k; j += 16) amax = _mm512_max_ps(_mm512_andnot_ps(sign, _mm512_loadu_ps(x + j)), amax);
    const float m = _mm512_reduce_max_ps(amax);
    block_q8_k& b = y[i];
    if (m == 0.0f) {
      std::memset(&b, 0, sizeof(b));
      continue;
    }
    float max = 0.0f;
    for (int j = 0; j < qk_k; j += 16) {
      const __mmask16 hit = _mm512_cmp_ps_mask(_mm512_andnot_ps(sign, _mm512_loadu_ps(x + j)), _mm512_set1_ps(m), _CMP_EQ_OQ);
      if (hit) {
        max = x[j + __builtin_ctz(hit)];
        break;
      }
    }
    const float iscale = -127.0f / max;
    const __m512 is = _mm512_set1_ps(iscale);
    const __m512i top = _mm512_set1_epi32(127);
    for (int k = 0; k < 16; ++k) {
      const __m512i v = _mm512_min_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(is, _mm512_loadu_ps(x + 16 * k))), top);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(b.qs + 16 * k), _mm512_cvtsepi32_epi8(v));
      b.bsums[k] = static_cast<int16_t>(_mm512_reduce_add_epi32(v));
    }
    b.d = 1.0f / iscale;
  }
}

}  // namespace

extern const amx_quantize_fn amx_quantize_q8_k = quantize_q8_k_row;

// Slots follow the ggml type ids: 2 Q4_0, 8 Q8_0, 12 Q4_K, 13 Q5_K, 14 Q6_K.
extern const amx_kernel amx_kernels[n_dot_slots] = {
    {}, {},
    {task<q8_format<true>>, work_bytes<q8_format<true>>, unpack_tile<q8_format<true>>, panel_bytes<q8_format<true>>,
     false},  // 2
    {}, {}, {}, {}, {},
    {task<q8_format<false>>, work_bytes<q8_format<false>>, unpack_tile<q8_format<false>>,
     panel_bytes<q8_format<false>>, false, q8_0_write_decode_panel, q8_0_decode_panel_bytes},  // 8
    {}, {}, {},
    {task<kq_format<4>>, work_bytes<kq_format<4>>, unpack_tile<kq_format<4>>, panel_bytes<kq_format<4>>, true,
     nullptr, nullptr, q4_k_write_decode_panel, q4_k_decode_panel_bytes, q4_k_decode_panels},  // 12
    {task<kq_format<5>>, work_bytes<kq_format<5>>, unpack_tile<kq_format<5>>, panel_bytes<kq_format<5>>, true},  // 13
    {task<kq_format<6>>, work_bytes<kq_format<6>>, unpack_tile<kq_format<6>>, panel_bytes<kq_format<6>>, true,
     nullptr, nullptr, q6_k_write_decode_panel, q6_k_decode_panel_bytes, q6_k_decode_panels},  // 14
};

}  // namespace r1::kernels::detail
