// matmul: quantize the activations once, then hand out (row chunk × column
// block) tiles to the pool. Each output is one vec_dot, so the split never
// changes a result.
#include "r1/kernels/matmul.h"

#include <algorithm>
#include <atomic>
#include <vector>

#include "amx_matmul.h"
#include "amx_tiles.h"
#include "r1/kernels/amx_packed_matrix.h"
#include "r1/kernels/cpu_features.h"
#include "blocks.h"
#include "r1/base/assert.h"
#include "r1/kernels/quants.h"

namespace r1::kernels {
namespace {

constexpr int64_t k_tile_cols = 16;
// Bytes of decode panels per task: dynamic distribution keeps the threads within
// one task of each other (~10 µs), and longer runs stream better (measured on the
// 1.5B Q8_0 decode: 32 KiB < 64 KiB < 128 KiB ≈ 256 KiB-1 MiB).
constexpr size_t k_decode_task_bytes = 128 << 10;

static_assert(static_cast<int>(tensor_type::q4_0) == 2 && static_cast<int>(tensor_type::q8_0) == 8 &&
              static_cast<int>(tensor_type::q4_k) == 12 && static_cast<int>(tensor_type::q5_k) == 13 &&
              static_cast<int>(tensor_type::q6_k) == 14, "amx_kernels slots follow the ggml type ids");

// Measured crossover (docs/dev/kernels.md): below this the dot kernels win.
constexpr int64_t k_default_amx_min_cols = 12;
std::atomic<int64_t> g_amx_min_cols{k_default_amx_min_cols};
std::atomic<bool> g_amx_bf16_prompts{true};

// The AMX kernel for w, or nullptr when the batch stays on the dot kernels.
const detail::amx_kernel* amx_kernel_for(const matrix_view& w, int64_t n_cols) {
  if (n_cols < g_amx_min_cols.load(std::memory_order_relaxed) || active_kernel_path() != kernel_path::amx) return nullptr;
  const int id = static_cast<int>(w.type);
  if (id < 0 || id >= detail::n_dot_slots || !detail::amx_kernels[id].run) return nullptr;
  return &detail::amx_kernels[id];
}

// Row chunk size: small enough for several chunks per thread, large enough that
// the atomic counter is not contended.
int64_t rows_per_chunk(int64_t rows, int64_t n_cols, int n_threads) {
  const int64_t base = n_cols == 1 ? 64 : 16;
  int64_t chunk = base;
  while (chunk > 4 && rows / chunk < 4 * static_cast<int64_t>(n_threads)) chunk /= 2;
  return chunk;
}

// Row tiles per decode task: about k_decode_task_bytes, and whole tile quads (the
// kernels read four tiles at once) unless that leaves fewer than 4 tasks per thread.
int64_t decode_task_tiles(int64_t row_tiles, size_t tile_bytes, int n_threads) {
  int64_t group = std::max<int64_t>(4, static_cast<int64_t>(k_decode_task_bytes / tile_bytes) & ~int64_t{3});
  while (group > 1 && row_tiles / group < 4 * n_threads) group /= 2;
  return group;
}

struct tile_args {
  detail::dot_kernel_set kern;
  int64_t k;  // elements per row
  const uint8_t* w;
  size_t w_stride;
  const uint8_t* x;
  size_t x_stride;
  float* y;
  int64_t y_stride;
};

// Outputs of rows [r0, r1) × columns [c0, c1). Per row: the columns in groups of
// four, then one 3- or 2-column call for the rest, so one weight row load serves
// every column. A single column (decode, or the last of a batch) goes through the
// multi-row kernel instead, k_dot_rows rows per call. Every kernel of the set
// gives each output the same bits, so the split never changes a result.
void run_tile(const tile_args& t, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  const detail::dot_kernel_set& kern = t.kern;
  const int64_t c_rest = c0 + (kern.dot4 ? (c1 - c0) / 4 * 4 : 0);
  const int64_t left = c1 - c_rest;
  const detail::dot4_fn rest_fn = left == 3 ? kern.dot3 : left == 2 ? kern.dot2 : nullptr;
  const bool row_pass = left == 1 && kern.rows;
  auto xcol = [&](int64_t c) { return t.x + static_cast<size_t>(c) * t.x_stride; };
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* wr = t.w + static_cast<size_t>(r) * t.w_stride;
    float out[4];
    for (int64_t c = c0; c < c_rest; c += 4) {
      kern.dot4(t.k, wr, xcol(c), t.x_stride, out);
      for (int q = 0; q < 4; ++q) t.y[(c + q) * t.y_stride + r] = out[q];
    }
    if (rest_fn) {
      rest_fn(t.k, wr, xcol(c_rest), t.x_stride, out);
      for (int q = 0; q < left; ++q) t.y[(c_rest + q) * t.y_stride + r] = out[q];
    } else if (!row_pass) {
      for (int64_t c = c_rest; c < c1; ++c) t.y[c * t.y_stride + r] = kern.dot(t.k, wr, xcol(c));
    }
  }
  if (!row_pass) return;
  float* yc = t.y + c_rest * t.y_stride;
  int64_t r = r0;
  for (; r + detail::k_dot_rows <= r1; r += detail::k_dot_rows)
    kern.rows(t.k, t.w + static_cast<size_t>(r) * t.w_stride, t.w_stride, xcol(c_rest), yc + r);
  for (; r < r1; ++r) yc[r] = kern.dot(t.k, t.w + static_cast<size_t>(r) * t.w_stride, xcol(c_rest));
}

// True when w's decode and small batches read the decode panels of its repacked
// Q8_0, Q4_K or Q6_K copy (amx_tiles.h) rather than its rows.
bool reads_decode_panels(const matrix_view& w) {
  return w.amx_packed != nullptr && active_kernel_path() == kernel_path::amx && amx_copy_serves_every_matmul(w);
}

// The decode panels of w's repacked copy (reads_decode_panels(w)): K-quants' follow
// their A panels unless the copy holds decode panels alone.
std::span<const uint8_t> decode_panels(const matrix_view& w) {
  const detail::amx_kernel& kern = detail::amx_kernels[static_cast<int>(w.type)];
  const auto row_tiles = static_cast<size_t>((w.rows + detail::amx_tile - 1) / detail::amx_tile);
  const auto* panels = static_cast<const uint8_t*>(w.amx_packed);
  if (!kern.decode) return {panels, detail::q8_0_decode_panel_bytes(w.cols) * row_tiles};
  if (!w.amx_decode_only) panels += kern.panel_bytes(w.cols) * row_tiles;
  return {panels, kern.decode_bytes(w.cols) * row_tiles};
}

// Up to this much of the next matrix's stream is prefetched while threads wait
// (1-4 MiB measured alike; a core's L2 is 2 MiB here).
constexpr size_t k_idle_prefetch_bytes = size_t{1} << 20;

// A matmul about to stream w once: waiting threads may prefetch what comes next.
void prefetch_next_while_idle(const matrix_view& w, thread_pool& pool) {
  pool.set_idle_prefetch(w.read_next, std::min(w.read_next_bytes, k_idle_prefetch_bytes));
}

// One matrix's decode from its panels: one sequential stream of panels per task,
// the row tiles cut into tasks of decode_task_tiles.
struct panel_decode {
  const matrix_view* w = nullptr;
  const detail::amx_kernel* kern = nullptr;
  const uint8_t* panels = nullptr;
  const detail::q8_0_column_block* sums = nullptr;  // Q8_0: the activations' block sums
  int64_t row_tiles = 0, group = 1;
  float* y = nullptr;
  int64_t y_stride = 0;

  int tasks() const { return static_cast<int>((row_tiles + group - 1) / group); }
  void run(int task, const void* x_q, size_t x_stride, int64_t n_cols) const {
    const int64_t rt = task * group, rt_end = std::min(row_tiles, rt + group);
    if (kern->decode) kern->decode(panels, w->cols, w->rows, rt, rt_end, x_q, x_stride, n_cols, y, y_stride);
    else detail::q8_0_decode_panels(panels, w->cols, w->rows, rt, rt_end, x_q, x_stride, n_cols, sums, y, y_stride);
  }
};

// `sums`: q8_0_prepare_columns of the activations when w is Q8_0.
panel_decode plan_panel_decode(const matrix_view& w, const detail::q8_0_column_block* sums, float* y,
                               int64_t y_stride, int n_threads) {
  panel_decode d;
  d.w = &w;
  d.kern = &detail::amx_kernels[static_cast<int>(w.type)];
  d.row_tiles = (w.rows + detail::amx_tile - 1) / detail::amx_tile;
  d.y = y;
  d.y_stride = y_stride;
  const std::span<const uint8_t> stream = decode_panels(w);
  d.panels = stream.data();
  if (!d.kern->decode) d.sums = sums;
  d.group = decode_task_tiles(d.row_tiles, stream.size() / static_cast<size_t>(d.row_tiles), n_threads);
  return d;
}

// Decode and small batches from w's decode panels. False when w has none. (Larger
// batches went to the AMX GEMM before this.)
bool decode_from_panels(const matrix_view& w, const void* x_q, int64_t n_cols, size_t x_stride, float* y,
                        int64_t y_stride, thread_pool& pool) {
  if (!reads_decode_panels(w)) return false;
  const detail::q8_0_column_block* sums =
      w.type == tensor_type::q8_0 ? detail::q8_0_prepare_columns(x_q, x_stride, n_cols, w.cols) : nullptr;
  const panel_decode d = plan_panel_decode(w, sums, y, y_stride, pool.size());
  // Contiguous shares: each thread streams its rows' panels in one sequential pass
  // (+7-10 % tokens/s over tasks handed out in turn, bench/RESULTS.md).
  prefetch_next_while_idle(w, pool);
  pool.run_contiguous(d.tasks(), [&](int task, int) { d.run(task, x_q, x_stride, n_cols); });
  return true;
}

}  // namespace

std::span<const uint8_t> decode_stream(const matrix_view& w) {
  if (reads_decode_panels(w)) return decode_panels(w);
  const size_t stride = w.row_stride_bytes ? w.row_stride_bytes : row_size(w.type, w.cols);
  return {static_cast<const uint8_t*>(w.data), w.data ? stride * static_cast<size_t>(w.rows) : 0};
}

bool matmul_takes_float(const matrix_view& w, int64_t n_cols) {
  if (w.type != tensor_type::q8_0 || w.amx_packed == nullptr || !amx_bf16_prompts() ||
      amx_kernel_for(w, n_cols) == nullptr)
    return false;
  const cpu_features& f = detect_cpu_features();
  return f.amx_bf16 && f.avx512bf16;
}

bool amx_bf16_prompts() { return g_amx_bf16_prompts.load(std::memory_order_relaxed); }
void set_amx_bf16_prompts(bool on) { g_amx_bf16_prompts.store(on, std::memory_order_relaxed); }

int64_t amx_min_cols() { return g_amx_min_cols.load(std::memory_order_relaxed); }

void set_amx_min_cols(int64_t n) {
  R1_ASSERT(n >= 1);
  g_amx_min_cols.store(n, std::memory_order_relaxed);
}

void quantize_columns(tensor_type t, const float* x, int64_t n_cols, int64_t x_stride, int64_t cols, void* dst,
                      thread_pool& pool) {
  const size_t out_stride = row_size(t, cols);
  auto* out = static_cast<uint8_t*>(dst);
  // The scalar Q8_K quantizer costs a fifth of an AMX GEMM; the amx path has an
  // AVX-512 one with the same rounding (tested bit for bit).
  const bool fast_q8_k = t == tensor_type::q8_k && active_kernel_path() == kernel_path::amx;
  R1_ASSERT(!fast_q8_k || cols % detail::qk_k == 0);
  auto one = [&](int64_t j) {
    if (fast_q8_k) {
      detail::amx_quantize_q8_k(x + j * x_stride, out + static_cast<size_t>(j) * out_stride, cols);
      return;
    }
    const status s = quantize_row(t, x + j * x_stride, out + static_cast<size_t>(j) * out_stride, cols);
    R1_ASSERT_MSG(s.ok(), "quantize_columns: bad type or length");
  };
  if (n_cols == 1 || pool.size() == 1) {
    for (int64_t j = 0; j < n_cols; ++j) one(j);
    return;
  }
  pool.run(static_cast<int>(n_cols), [&](int task, int) { one(task); });
}

void matmul_quantized(const matrix_view& w, const void* x_q, int64_t n_cols, size_t x_stride_bytes, float* y,
                      int64_t y_stride, thread_pool& pool) {
  R1_ASSERT(can_vec_dot(w.type));
  R1_ASSERT(w.cols % type_info(w.type).block_elems == 0);
  if (w.rows <= 0 || n_cols <= 0) return;
  if (const detail::amx_kernel* kern = amx_kernel_for(w, n_cols)) {
    detail::amx_matmul(*kern, w, x_q, n_cols, x_stride_bytes, y, y_stride, pool);
    return;
  }
  if (decode_from_panels(w, x_q, n_cols, x_stride_bytes, y, y_stride, pool)) return;
  const size_t w_stride = w.row_stride_bytes ? w.row_stride_bytes : row_size(w.type, w.cols);
  const auto* wd = static_cast<const uint8_t*>(w.data);
  const auto* xd = static_cast<const uint8_t*>(x_q);
  const int64_t chunk = rows_per_chunk(w.rows, n_cols, pool.size());
  const int64_t n_row_chunks = (w.rows + chunk - 1) / chunk;
  const int64_t n_col_blocks = (n_cols + k_tile_cols - 1) / k_tile_cols;
  // Batches: split columns into blocks too when there are few row chunks.
  const int64_t col_split = n_row_chunks >= 4 * pool.size() ? 1 : n_col_blocks;
  const int64_t cols_per_task = (n_cols + col_split - 1) / col_split;
  const int64_t n_tasks = n_row_chunks * col_split;
  const detail::dot_kernel_set kern = detail::active_dot_kernels(static_cast<int>(w.type));
  const tile_args args{kern, w.cols, wd, w_stride, xd, x_stride_bytes, y, y_stride};
  auto body = [&](int task, int) {
    const int64_t r0 = (task % n_row_chunks) * chunk, r1 = std::min(w.rows, r0 + chunk);
    const int64_t c_begin = (task / n_row_chunks) * cols_per_task;
    const int64_t c_end = std::min(n_cols, c_begin + cols_per_task);
    for (int64_t c0 = c_begin; c0 < c_end; c0 += k_tile_cols) run_tile(args, r0, r1, c0, std::min(c_end, c0 + k_tile_cols));
  };
  // Row chunks alone: contiguous shares, one sequential stream of rows per thread
  // (decode +8-11 % on the avx2 and avx512 paths, bench/RESULTS.md).
  if (col_split == 1) {
    prefetch_next_while_idle(w, pool);
    pool.run_contiguous(static_cast<int>(n_tasks), body);
  } else {
    pool.run(static_cast<int>(n_tasks), body);
  }
}

void matmul_quantized_many(std::span<const matmul_target> targets, const void* x_q, int64_t n_cols,
                           size_t x_stride_bytes, thread_pool& pool) {
  bool fused = targets.size() > 1 && n_cols > 0;
  for (const matmul_target& t : targets) {
    R1_ASSERT(t.w->cols == targets[0].w->cols && vec_dot_type(t.w->type) == vec_dot_type(targets[0].w->type));
    fused = fused && t.w->rows > 0 && amx_kernel_for(*t.w, n_cols) == nullptr && reads_decode_panels(*t.w);
  }
  if (!fused) {
    for (const matmul_target& t : targets) matmul_quantized(*t.w, x_q, n_cols, x_stride_bytes, t.y, t.y_stride, pool);
    return;
  }
  // One run over every matrix's tasks in turn: the threads' contiguous shares run on
  // from one matrix into the next, with one barrier in all (a 256-row K or V
  // projection alone is over before a stream gets going).
  const detail::q8_0_column_block* sums = nullptr;
  if (targets[0].w->type == tensor_type::q8_0)
    sums = detail::q8_0_prepare_columns(x_q, x_stride_bytes, n_cols, targets[0].w->cols);
  std::vector<panel_decode> plans;
  std::vector<int> first_task;
  int n_tasks = 0;
  for (const matmul_target& t : targets) {
    plans.push_back(plan_panel_decode(*t.w, sums, t.y, t.y_stride, pool.size()));
    first_task.push_back(n_tasks);
    n_tasks += plans.back().tasks();
  }
  prefetch_next_while_idle(*targets.back().w, pool);
  pool.run_contiguous(n_tasks, [&](int task, int) {
    size_t i = plans.size() - 1;
    while (first_task[i] > task) --i;
    plans[i].run(task - first_task[i], x_q, x_stride_bytes, n_cols);
  });
}

void matmul(const matrix_view& w, const float* x, int64_t n_cols, int64_t x_stride, float* y, int64_t y_stride,
            thread_pool& pool, scratch& s) {
  R1_ASSERT(can_vec_dot(w.type));
  if (n_cols > 0 && w.rows > 0 && matmul_takes_float(w, n_cols)) {
    detail::amx_matmul_q8_0_bf16(w, x, n_cols, x_stride, y, y_stride, pool);
    return;
  }
  const tensor_type vt = vec_dot_type(w.type);
  if (vt == tensor_type::f32) {
    matmul_quantized(w, x, n_cols, static_cast<size_t>(x_stride) * sizeof(float), y, y_stride, pool);
    return;
  }
  const size_t stride = row_size(vt, w.cols);
  void* xq = s.get(stride * static_cast<size_t>(n_cols));
  quantize_columns(vt, x, n_cols, x_stride, w.cols, xq, pool);
  matmul_quantized(w, xq, n_cols, stride, y, y_stride, pool);
}

}  // namespace r1::kernels
