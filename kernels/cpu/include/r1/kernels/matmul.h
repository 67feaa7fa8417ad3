// y = W·x on the CPU for a batch of activation columns.
//
// W is a row-major matrix of `rows` rows of `cols` elements in any type with
// can_vec_dot(type). x holds n_cols activation columns of `cols` floats (column
// j starts at x + j*x_stride). The activations are converted once per call to
// vec_dot_type(W.type); each y value is one vec_dot of a weight row with a
// column (on the amx path, batches may instead use AMX tiles: see below), so
// results do not depend on the thread count. Rows (and, for batches, columns)
// are cut into chunks that the pool's threads take from a shared counter.
// y[j*y_stride + r] = sum_k W[r][k] * x[j*x_stride + k].
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "r1/base/tensor_type.h"
#include "r1/kernels/scratch.h"
#include "r1/kernels/thread_pool.h"

namespace r1::kernels {

// A view of a weight matrix; the data is owned elsewhere (usually the mmap).
struct matrix_view {
  tensor_type type = tensor_type::f32;
  int64_t rows = 0;
  int64_t cols = 0;                 // elements per row, a multiple of the block size
  const void* data = nullptr;
  size_t row_stride_bytes = 0;      // 0: packed rows (row_size(type, cols))
  // Optional: amx_packed_matrix::data() of this very matrix (r1/kernels/amx_packed_matrix.h).
  // AMX prompt batches then read its tiles instead of unpacking the rows at every call
  // (K-quants, Q4_0). Q8_0's copy is decode panels (VNNI layout) that every matmul
  // reads: decode and batches below amx_min_cols() as one sequential stream per task,
  // prompts as the B tiles of the AMX GEMM. Both take exact integer block sums and the
  // same float steps, so a prompt row has the bits of the same token decoded; the dot
  // kernels (no copy) differ from them by float rounding only. matmul() (float
  // activations) instead runs Q8_0 prompts on AMX-BF16 tiles where the CPU has them
  // (see matmul_takes_float). Q4_K's copy holds its
  // A tiles and, after them, decode panels that decode and small batches read (equal
  // to the dot kernels to float rounding). Decode of the other types reads `data`.
  // Not owned; must outlive every matmul with this view.
  const void* amx_packed = nullptr;
  // amx_packed holds only decode panels (amx_packed_matrix::decode_only()): prompt
  // batches then unpack `data`.
  bool amx_decode_only = false;
  // Optional: the bytes a decode most likely reads after this matrix's (the
  // decode_stream of the next matrix of the forward pass). A matmul that streams this
  // matrix once lets the pool's waiting threads prefetch their first MiB
  // (thread_pool::set_idle_prefetch), so the memory keeps streaming while the matmul's
  // last task and the serial steps after it run. A hint only; not owned.
  const void* read_next = nullptr;
  size_t read_next_bytes = 0;
};

// The bytes one decode (a single column) of w reads, in the order it reads them: the
// decode panels of its repacked copy where matmul reads those, else its rows.
std::span<const uint8_t> decode_stream(const matrix_view& w);

// On the amx kernel path, batches of at least amx_min_cols() columns with Q4_K,
// Q5_K, Q6_K, Q8_0 or Q4_0 weights run on AMX-INT8 tiles (same integer products
// as the dot kernels; only the float summation order differs), except Q8_0
// prompts with a repacked copy, which matmul() runs on AMX-BF16 tiles
// (matmul_takes_float). Smaller batches and decode use the dot kernels. Unless the view carries a repacked copy
// (amx_packed), each task unpacks its 16 rows into a per-thread buffer (about
// 34 KiB per 1024 columns for K-quants).
// The threshold is process-wide; set_amx_min_cols (n >= 1) is for benchmarks and
// tests and, like set_kernel_path, should be called while no matmul runs.
int64_t amx_min_cols();
void set_amx_min_cols(int64_t n);

// True when matmul() runs this batch from the float activations as they are: a
// repacked Q8_0 matrix (amx_packed) on the amx path, a batch of at least
// amx_min_cols() columns, a CPU with AMX-BF16 and amx_bf16_prompts() on. Its decode panels then become
// bf16 weights d·q and the activations bf16, accumulated in fp32 over the whole
// row (error ≤ (2⁻⁷ + 2⁻¹⁵ + cols·2⁻²³)·Σ|w·x|; no larger in practice than the
// Q8_0 rounding of the activations that matmul_quantized keeps). A caller that
// quantizes once for several matrices should call matmul for such a batch instead.
bool matmul_takes_float(const matrix_view& w, int64_t n_cols);
// Process-wide, on by default; off keeps Q8_0 prompts on the integer GEMM (each
// prompt row then has the bits of the same token decoded). For benchmarks and
// tests; like set_kernel_path, call it while no matmul runs.
bool amx_bf16_prompts();
void set_amx_bf16_prompts(bool on);

// Asserts on shape errors (callers validate model shapes at load).
// `s` holds the converted activations; it is only used by the calling thread.
void matmul(const matrix_view& w, const float* x, int64_t n_cols, int64_t x_stride,
            float* y, int64_t y_stride, thread_pool& pool, scratch& s);

// Same, with activations already in vec_dot_type(w.type): column j at
// x_q + j*x_stride_bytes. Lets a caller quantize once for several matrices
// that share an input (q/k/v, gate/up).
void matmul_quantized(const matrix_view& w, const void* x_q, int64_t n_cols, size_t x_stride_bytes,
                      float* y, int64_t y_stride, thread_pool& pool);

// One of the matrices matmul_quantized_many multiplies with a shared input.
struct matmul_target {
  const matrix_view* w;
  float* y;
  int64_t y_stride;
};

// matmul_quantized of every target against the same activations (q/k/v, gate/up:
// the same cols and vec_dot_type), with the same bits. Where every matrix decodes
// from its repacked panels (the amx path, a batch under amx_min_cols()), all their
// tasks go to the pool as one run: the threads stream one matrix after the other
// with one barrier in all instead of one per matrix.
void matmul_quantized_many(std::span<const matmul_target> targets, const void* x_q, int64_t n_cols,
                           size_t x_stride_bytes, thread_pool& pool);

// Converts n_cols columns of `cols` floats to type t (column j to dst + j*row_size(t, cols)),
// spread over the pool. Used by matmul; public for callers of matmul_quantized.
void quantize_columns(tensor_type t, const float* x, int64_t n_cols, int64_t x_stride, int64_t cols,
                      void* dst, thread_pool& pool);

}  // namespace r1::kernels
