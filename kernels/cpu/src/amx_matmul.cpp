// The AMX prompt GEMM's driver: packs the activations into B tiles once, then
// hands (16-row weight tile × token tiles) tasks to the pool. The tile kernels
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

}  // namespace

void amx_matmul(const amx_kernel& kern, const matrix_view& w, const void* x_q, int64_t n_cols,
                size_t x_stride_bytes, float* y, int64_t y_stride, thread_pool& pool) {
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
  // A repacked matrix brings its panels; the work buffer then holds only acc and C.
  // (A copy in another layout, kern.repack, is for decode: unpack as without one.)
  const auto* packed = kern.repack ? nullptr : static_cast<const uint8_t*>(w.amx_packed);
  const size_t panel_bytes = kern.panel_bytes(w.cols);
  const size_t work_bytes =
      ((packed ? kern.work_bytes(w.cols) - panel_bytes : kern.work_bytes(w.cols)) + 63) & ~static_cast<size_t>(63);
  auto* work = static_cast<uint8_t*>(bufs.work.get(work_bytes * static_cast<size_t>(pool.size())));
  amx_weight wt;
  wt.data = static_cast<const uint8_t*>(w.data);
  wt.stride = w.row_stride_bytes ? w.row_stride_bytes : row_size(w.type, w.cols);
  wt.rows = w.rows;
  wt.cols = w.cols;
  // A task is a group of 16-row tiles against a range of token tiles; token ranges
  // are split only when there are too few groups to keep every thread busy.
  // Repacked panels come in groups of up to 8 consecutive row tiles, so that each
  // task can prefetch the panel it multiplies next.
  const int64_t row_tiles = (w.rows + amx_tile - 1) / amx_tile;
  int64_t group = 1;
  while (packed && group < 8 && row_tiles / (2 * group) >= 8 * pool.size()) group *= 2;
  const int64_t groups = (row_tiles + group - 1) / group;
  int64_t tok_split = 1;
  while (tok_split < act.n_tok_tiles && groups * tok_split < 4 * pool.size()) tok_split *= 2;
  tok_split = std::min(tok_split, act.n_tok_tiles);
  const int64_t tiles_per_task = (act.n_tok_tiles + tok_split - 1) / tok_split;
  auto panel_of = [&](int64_t rt) { return packed ? packed + panel_bytes * static_cast<size_t>(rt) : nullptr; };
  pool.run(static_cast<int>(groups * tok_split), [&](int task, int thread) {
    const int64_t g = task % groups, t0 = (task / groups) * tiles_per_task;
    const int64_t t1 = std::min(act.n_tok_tiles, t0 + tiles_per_task);
    if (t0 >= t1) return;
    const int64_t rt_end = std::min(row_tiles, (g + 1) * group);
    for (int64_t rt = g * group; rt < rt_end; ++rt)
      kern.run(wt, act, rt, t0, t1, panel_of(rt), rt + 1 < rt_end ? panel_of(rt + 1) : nullptr,
               work + work_bytes * static_cast<size_t>(thread), y, y_stride, n_cols);
  });
}

}  // namespace r1::kernels::detail
