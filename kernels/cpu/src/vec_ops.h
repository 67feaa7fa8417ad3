// Per-path tables of the vector-math kernels: exp, SiLU/SwiGLU, softmax and the
// inner loop of flash attention. Private to the CPU kernels; plain structs only,
// because the per-ISA files (vec_ops_avx2.cpp, vec_ops_avx512.cpp) include it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace r1::kernels::detail {

// Converts one K or V row of the cache to F32 (F16 widening or Q8_0 dequantizing).
using row_to_f32_fn = void (*)(const void* src, float* dst, int n);

// One attention task: `rows` query rows against keys [j0, j1) of one KV head.
// The queries are stored transposed (qt[d * rows_pad + r], already rounded to
// the K type's dot format), rows_pad a multiple of the table's `lanes` (extra
// rows zero, with vis_end 0). The running state (m, l, o) is read and updated:
// m[r] the running maximum score (-inf before any key), l[r] the running sum of
// e^(s - m), o[r * dv ..] the unnormalised output. Key j is visible to row r when
// j < vis_end[r]. Work buffers are owned by the caller and sized by the
// *_floats() helpers below.
struct attn_task {
  const float* qt = nullptr;
  const int32_t* vis_end = nullptr;  // rows_pad entries
  int rows = 0;
  int rows_pad = 0;
  int dk = 0;
  int dv = 0;
  float scale = 1.0f;
  int64_t j0 = 0;
  int64_t j1 = 0;
  // Cache rows of this KV head: position j at k_data + j * k_stride bytes.
  const uint8_t* k_data = nullptr;
  size_t k_stride = 0;
  row_to_f32_fn k_to_f32 = nullptr;  // nullptr: the rows are F32 already
  const uint8_t* v_data = nullptr;
  size_t v_stride = 0;
  row_to_f32_fn v_to_f32 = nullptr;
  bool k_f16 = false;  // the rows are F16 (k_to_f32 / v_to_f32 convert them): kernels
  bool v_f16 = false;  // with F16 loads read them in place
  size_t k_row_bytes = 0;  // bytes of one position's K (V) row of this head, read by the tiles
  size_t v_row_bytes = 0;
  float* m = nullptr;   // rows_pad
  float* l = nullptr;   // rows_pad
  float* o = nullptr;   // round_up(rows, 4) × dv
  float* work = nullptr;  // attn_work_floats(rows_pad, dk, dv)
};

// Keys per tile of the attention kernels.
constexpr int k_attn_tile = 64;

constexpr size_t attn_work_floats(int rows_pad, int dk, int dv) {
  // scores (tile × rows_pad), a K tile, a V tile, the per-row rescale factors; for a
  // decode's key pairs, the duplicated query rows (rows_pad × dk) and two F32 key rows.
  return static_cast<size_t>(k_attn_tile) * static_cast<size_t>(rows_pad + dk + dv) + static_cast<size_t>(rows_pad) +
         static_cast<size_t>(rows_pad + 2) * static_cast<size_t>(dk) + 64;
}

struct vec_ops_table {
  int lanes;  // query rows per vector in attn_run
  void (*exp_row)(const float* x, float* dst, int64_t n);
  void (*silu)(const float* x, float* dst, int64_t n);
  void (*swiglu)(const float* gate, const float* up, float* dst, int64_t n);
  void (*softmax)(float* x, int64_t n, float scale);
  void (*attn_run)(const attn_task& t);
};

extern const vec_ops_table scalar_vec_ops;
extern const vec_ops_table avx2_vec_ops;
extern const vec_ops_table avx512_vec_ops;

// The table of the active kernel path (amx uses the avx512 one).
const vec_ops_table& active_vec_ops();

}  // namespace r1::kernels::detail
