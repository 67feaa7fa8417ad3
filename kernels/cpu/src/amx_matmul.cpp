// The AMX prompt GEMM's driver: packs the activations into B tiles once, then
// hands (16-row weight tile × token tiles) tasks to the pool (Q8_0 decode panels:
// no packing, see matmul_q8_0_panels). The tile kernels
// themselves are in amx_gemm.cpp (the only file built with -mamx-*).
#include "amx_matmul.h"

#include <algorithm>

#include "r1/kernels/quants.h"
#include "r1/kernels/scratch.h"

namespace r1::kernels::detail {
namespace {

// Buffers of the AMX path, kept per calling thread so that repeated matmuls do
// not fault in fresh pages: the packed activations and one work area per pool thread.
struct amx_buffers {
  scratch act;
  scratch work;
};
amx_buffers& thread_amx_buffers() {
  thread_local amx_buffers b;
  return b;
}

// A task is a group of 16-row tiles against a range of token tiles; token ranges
// are split only when there are too few groups to keep every thread busy. With
// `grouped`, groups hold up to 8 consecutive row tiles (repacked panels: a task
// prefetches the panel it multiplies next, or keeps its panels in L2 while the
// token tiles pass); otherwise one.
struct task_split {
  int64_t group, groups, tok_split, tiles_per_task;
};
task_split split_tasks(int64_t row_tiles, int64_t tok_tiles, bool grouped, int threads) {
  task_split s{1, 0, 1, 0};
  while (grouped && s.group < 8 && row_tiles / (2 * s.group) >= 8 * threads) s.group *= 2;
  s.groups = (row_tiles + s.group - 1) / s.group;
  while (s.tok_split < tok_tiles && s.groups * s.tok_split < 4 * threads) s.tok_split *= 2;
  s.tok_split = std::min(s.tok_split, tok_tiles);
  s.tiles_per_task = (tok_tiles + s.tok_split - 1) / s.tok_split;
  return s;
}

// A prompt batch against Q8_0's decode panels (amx_tiles.h): the panels are the B
// tiles and the activation rows the A tiles as they are (amx_q8_0_gemm.cpp).
void matmul_q8_0_panels(const matrix_view& w, const void* x_q, int64_t n_cols, size_t x_stride, float* y,
                        int64_t y_stride, thread_pool& pool) {
  const int64_t row_tiles = (w.rows + amx_tile - 1) / amx_tile;
  const int64_t tok_tiles = (n_cols + amx_tile - 1) / amx_tile;
  const task_split s = split_tasks(row_tiles, tok_tiles, true, pool.size());
  const auto* panels = static_cast<const uint8_t*>(w.amx_packed);
  const q8_0_column_block* sums = q8_0_prepare_columns(x_q, x_stride, n_cols, w.cols);
  pool.run(static_cast<int>(s.groups * s.tok_split), [&](int task, int) {
    const int64_t g = task % s.groups, t0 = (task / s.groups) * s.tiles_per_task;
    const int64_t c0 = t0 * amx_tile, c1 = std::min(n_cols, (t0 + s.tiles_per_task) * amx_tile);
    if (c0 >= c1) return;
    q8_0_panel_gemm(panels, w.cols, w.rows, g * s.group, std::min(row_tiles, (g + 1) * s.group), x_q, x_stride, c0, c1,
                    sums, y, y_stride);
  });
}

}  // namespace

void amx_matmul_q8_0_bf16(const matrix_view& w, const float* x, int64_t n_cols, int64_t x_stride, float* y,
                          int64_t y_stride, thread_pool& pool) {
  amx_buffers& bufs = thread_amx_buffers();
  const int64_t tok_tiles = (n_cols + amx_tile - 1) / amx_tile;
  auto* xb = static_cast<uint16_t*>(
      bufs.act.get(static_cast<size_t>(tok_tiles * amx_tile) * static_cast<size_t>(w.cols) * sizeof(uint16_t)));
  pool.run(static_cast<int>(tok_tiles), [&](int t, int) {
    for (int64_t c = t * amx_tile; c < (t + 1) * amx_tile; ++c) q8_0_bf16_convert_columns(x, x_stride, n_cols, w.cols, c, xb);
  });
  const int64_t row_tiles = (w.rows + amx_tile - 1) / amx_tile;
  const task_split s = split_tasks(row_tiles, tok_tiles, true, pool.size());
  const size_t work_bytes = q8_0_bf16_work_bytes();
  auto* work = static_cast<uint8_t*>(bufs.work.get(work_bytes * static_cast<size_t>(pool.size())));
  const auto* panels = static_cast<const uint8_t*>(w.amx_packed);
  pool.run(static_cast<int>(s.groups * s.tok_split), [&](int task, int thread) {
    const int64_t g = task % s.groups, t0 = (task / s.groups) * s.tiles_per_task;
    const int64_t c0 = t0 * amx_tile, c1 = std::min(n_cols, (t0 + s.tiles_per_task) * amx_tile);
    if (c0 >= c1) return;
    q8_0_bf16_gemm(panels, w.cols, w.rows, g * s.group, std::min(row_tiles, (g + 1) * s.group), xb, c0, c1,
                   work + work_bytes * static_cast<size_t>(thread), y, y_stride);
  });
}

void amx_matmul(const amx_kernel& kern, const matrix_view& w, const void* x_q, int64_t n_cols,
                size_t x_stride_bytes, float* y, int64_t y_stride, thread_pool& pool) {
  if (kern.repack != nullptr && w.amx_packed != nullptr) {
    matmul_q8_0_panels(w, x_q, n_cols, x_stride_bytes, y, y_stride, pool);
    return;
  }
  amx_buffers& bufs = thread_amx_buffers();
  const amx_act_sizes sz = amx_act_bytes(kern.q8_k, n_cols, w.cols);
  auto* base = static_cast<uint8_t*>(bufs.act.get(sz.quants + sz.scales + sz.bsum_pairs));
  amx_packed_act act;
  act.quants = base;
  act.scales = reinterpret_cast<float*>(base + sz.quants);
  act.bsum_pairs = kern.q8_k ? reinterpret_cast<int32_t*>(base + sz.quants + sz.scales) : nullptr;
  act.n_tok_tiles = (n_cols + amx_tile - 1) / amx_tile;
  act.kblock = kern.q8_k ? qk_k : qk_legacy;
  act.n_kblocks = w.cols / act.kblock;
  pool.run(static_cast<int>(act.n_tok_tiles), [&](int t, int) {
    amx_pack_act_tile(kern.q8_k, x_q, n_cols, x_stride_bytes, w.cols, t, act);
  });
  // A repacked matrix brings its panels (unless its copy is decode panels alone);
  // the work buffer then holds only acc and C.
  const auto* packed = w.amx_decode_only ? nullptr : static_cast<const uint8_t*>(w.amx_packed);
  const size_t panel_bytes = kern.panel_bytes(w.cols);
  const size_t work_bytes =
      ((packed ? kern.work_bytes(w.cols) - panel_bytes : kern.work_bytes(w.cols)) + 63) & ~static_cast<size_t>(63);
  auto* work = static_cast<uint8_t*>(bufs.work.get(work_bytes * static_cast<size_t>(pool.size())));
  amx_weight wt;
  wt.data = static_cast<const uint8_t*>(w.data);
  wt.stride = w.row_stride_bytes ? w.row_stride_bytes : row_size(w.type, w.cols);
  wt.rows = w.rows;
  wt.cols = w.cols;
  const int64_t row_tiles = (w.rows + amx_tile - 1) / amx_tile;
  const task_split s = split_tasks(row_tiles, act.n_tok_tiles, packed != nullptr, pool.size());
  auto panel_of = [&](int64_t rt) { return packed ? packed + panel_bytes * static_cast<size_t>(rt) : nullptr; };
  pool.run(static_cast<int>(s.groups * s.tok_split), [&](int task, int thread) {
    const int64_t g = task % s.groups, t0 = (task / s.groups) * s.tiles_per_task;
    const int64_t t1 = std::min(act.n_tok_tiles, t0 + s.tiles_per_task);
    if (t0 >= t1) return;
    const int64_t rt_end = std::min(row_tiles, (g + 1) * s.group);
    for (int64_t rt = g * s.group; rt < rt_end; ++rt)
      kern.run(wt, act, rt, t0, t1, panel_of(rt), rt + 1 < rt_end ? panel_of(rt + 1) : nullptr,
               work + work_bytes * static_cast<size_t>(thread), y, y_stride, n_cols);
  });
}

}  // namespace r1::kernels::detail
