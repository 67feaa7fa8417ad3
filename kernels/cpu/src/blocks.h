// ggml block layouts, byte for byte as GGUF files store them. Private to the CPU
// kernels. Plain structs only: this header is included by the per-ISA files,
// which must not pull in inline library code compiled with wider instructions.
#pragma once

#include <cstddef>
#include <cstdint>

namespace r1::kernels::detail {

constexpr int qk_legacy = 32;  // elements per Q4_0..Q8_1 block
constexpr int qk_k = 256;      // elements per K-quant super-block

struct block_q4_0 { uint16_t d; uint8_t qs[16]; };
struct block_q4_1 { uint16_t d; uint16_t m; uint8_t qs[16]; };
struct block_q5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; };
struct block_q5_1 { uint16_t d; uint16_t m; uint8_t qh[4]; uint8_t qs[16]; };
struct block_q8_0 { uint16_t d; int8_t qs[32]; };
struct block_q8_1 { uint16_t d; uint16_t s; int8_t qs[32]; };
struct block_q2_k { uint8_t scales[16]; uint8_t qs[64]; uint16_t d; uint16_t dmin; };
struct block_q3_k { uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12]; uint16_t d; };
struct block_q4_k { uint16_t d; uint16_t dmin; uint8_t scales[12]; uint8_t qs[128]; };
struct block_q5_k { uint16_t d; uint16_t dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; };
struct block_q6_k { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; };
struct block_q8_k { float d; int8_t qs[256]; int16_t bsums[16]; };
// Non-linear 4-bit codebook formats (quants_iq4.cpp): per 32 elements, 16 bytes of nibbles
// indexing k_iq4nl_values, low nibbles first (elements 0..15, then 16..31 from the high ones).
struct block_iq4_nl { uint16_t d; uint8_t qs[16]; };
struct block_iq4_xs { uint16_t d; uint16_t scales_h; uint8_t scales_l[4]; uint8_t qs[128]; };

static_assert(sizeof(block_q4_0) == 18 && sizeof(block_q4_1) == 20 && sizeof(block_q5_0) == 22);
static_assert(sizeof(block_q5_1) == 24 && sizeof(block_q8_0) == 34 && sizeof(block_q8_1) == 36);
static_assert(sizeof(block_q2_k) == 84 && sizeof(block_q3_k) == 110 && sizeof(block_q4_k) == 144);
static_assert(sizeof(block_q5_k) == 176 && sizeof(block_q6_k) == 210 && sizeof(block_q8_k) == 292);
static_assert(sizeof(block_iq4_nl) == 18 && sizeof(block_iq4_xs) == 136);

// The IQ4_NL / IQ4_XS codebook (gguf-and-quants.md §7).
constexpr int8_t k_iq4nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

// IQ4_XS sub-block ib's 6-bit scale minus 32.
static inline int iq4_xs_scale(const block_iq4_xs& b, int ib) {
  const int lo = (b.scales_l[ib / 2] >> (4 * (ib % 2))) & 15;
  const int hi = (b.scales_h >> (2 * ib)) & 3;
  return (lo | (hi << 4)) - 32;
}

// A dot kernel: n elements of one weight row against one activation row.
using dot_fn = float (*)(int64_t n, const void* w, const void* a);
// Table indexed by the tensor_type id; nullptr where the path has no kernel.
constexpr int n_dot_slots = 32;

// Four activation columns at once (column k at a + k·a_stride bytes): out[k] is
// bit-identical to the same table's dot_fn on column k, so matmul may mix both.
using dot4_fn = void (*)(int64_t n, const void* w, const void* a, size_t a_stride, float* out);
// k_dot_rows weight rows at once (row r at w + r·w_stride bytes) against one
// activation row: out[r] is bit-identical to the same table's dot_fn on row r,
// so decode may mix both (the activation loads and scales are shared by the rows).
constexpr int k_dot_rows = 4;
using dot_rows_fn = void (*)(int64_t n, const void* w, size_t w_stride, const void* a, float* out);
using f16_to_f32_fn = void (*)(const uint16_t* src, float* dst, int64_t n);
using f32_to_f16_fn = void (*)(const float* src, uint16_t* dst, int64_t n);

// What one kernel path (ISA) provides; nullptr entries fall back to scalar.
struct isa_ops {
  dot_fn dots[n_dot_slots];
  dot4_fn dots4[n_dot_slots];
  f16_to_f32_fn f16_to_f32;
  f32_to_f16_fn f32_to_f16;
  // Two and three columns (same contract as dots4), and the multi-row decode kernels.
  dot4_fn dots2[n_dot_slots];
  dot4_fn dots3[n_dot_slots];
  dot_rows_fn dot_rows[n_dot_slots];
};

// Per-path tables: constant-initialised data, so no code of an ISA file runs
// unless its path is selected.
extern const isa_ops scalar_ops;
extern const isa_ops avx2_ops;
extern const isa_ops avx512_ops;
// BF16 dot with AVX512_BF16 (vdpbf16ps), used on the avx512 path when present.
extern const dot_fn avx512_bf16_dot;

// The active path's dot kernels for weight type w (resolved once per matmul);
// active_dot4 may be nullptr.
dot_fn active_dot(int weight_type_id);
dot4_fn active_dot4(int weight_type_id);

// Every kernel of the active path for one weight type, all from the same table
// (so their results agree bit for bit); all but dot may be nullptr.
struct dot_kernel_set {
  dot_fn dot = nullptr;
  dot4_fn dot2 = nullptr, dot3 = nullptr, dot4 = nullptr;
  dot_rows_fn rows = nullptr;
};
dot_kernel_set active_dot_kernels(int weight_type_id);

// Helpers below are static so that each ISA file keeps its own copy (an inline
// function compiled with AVX2 must never be picked for baseline callers).

// The K-quant 6-bit scale/min unpacking (ggml get_scale_min_k4) into 8 scales and 8 mins.
static inline void unpack_scale_min_k4(const uint8_t* q, uint8_t* sc, uint8_t* m) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = q[j] & 63;
    m[j] = q[j + 4] & 63;
  }
  for (int j = 4; j < 8; ++j) {
    sc[j] = static_cast<uint8_t>((q[j + 4] & 15) | ((q[j - 4] >> 6) << 4));
    m[j] = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// Same unpacking as 8 scale bytes and 8 min bytes in two u64 (byte j = sub-block j).
static inline void unpack_scale_min_k4_u64(const uint8_t* q, uint64_t* sc, uint64_t* mn) {
  uint32_t a0, a1, a2;
  __builtin_memcpy(&a0, q, 4);
  __builtin_memcpy(&a1, q + 4, 4);
  __builtin_memcpy(&a2, q + 8, 4);
  const uint32_t sc_hi = (a2 & 0x0f0f0f0fu) | (((a0 >> 6) & 0x03030303u) << 4);
  const uint32_t mn_hi = ((a2 >> 4) & 0x0f0f0f0fu) | (((a1 >> 6) & 0x03030303u) << 4);
  *sc = (a0 & 0x3f3f3f3fu) | (static_cast<uint64_t>(sc_hi) << 32);
  *mn = (a1 & 0x3f3f3f3fu) | (static_cast<uint64_t>(mn_hi) << 32);
}

// The Q3_K 16 signed scales (already minus 32).
static inline void unpack_scales_q3_k(const uint8_t* s12, int8_t* out) {
  uint32_t a[3];
  for (int i = 0; i < 3; ++i)
    a[i] = static_cast<uint32_t>(s12[4 * i]) | (static_cast<uint32_t>(s12[4 * i + 1]) << 8) |
           (static_cast<uint32_t>(s12[4 * i + 2]) << 16) | (static_cast<uint32_t>(s12[4 * i + 3]) << 24);
  const uint32_t km1 = 0x03030303u, km2 = 0x0f0f0f0fu;
  uint32_t w[4];
  w[0] = (a[0] & km2) | (((a[2] >> 0) & km1) << 4);
  w[1] = (a[1] & km2) | (((a[2] >> 2) & km1) << 4);
  w[2] = ((a[0] >> 4) & km2) | (((a[2] >> 4) & km1) << 4);
  w[3] = ((a[1] >> 4) & km2) | (((a[2] >> 6) & km1) << 4);
  for (int i = 0; i < 4; ++i)
    for (int b = 0; b < 4; ++b) out[4 * i + b] = static_cast<int8_t>(static_cast<int>((w[i] >> (8 * b)) & 0xff) - 32);
}

}  // namespace r1::kernels::detail
