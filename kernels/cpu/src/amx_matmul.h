// The AMX prompt GEMM for one matmul: y[c*y_stride + r] = w row r · column c of
// x_q (activations already quantized to the kernel's Q8_K / Q8_0). Private to the
// CPU kernels; called by matmul_quantized when the amx path takes the batch.
#pragma once

#include <cstddef>
#include <cstdint>

#include "amx_tiles.h"
#include "r1/kernels/matmul.h"
#include "r1/kernels/thread_pool.h"

namespace r1::kernels::detail {

void amx_matmul(const amx_kernel& kern, const matrix_view& w, const void* x_q, int64_t n_cols,
                size_t x_stride_bytes, float* y, int64_t y_stride, thread_pool& pool);

// The same for a repacked Q8_0 matrix from float activations (column c at
// x + c·x_stride) on AMX-BF16 tiles (amx_q8_0_bf16_gemm.cpp).
void amx_matmul_q8_0_bf16(const matrix_view& w, const float* x, int64_t n_cols, int64_t x_stride, float* y,
                          int64_t y_stride, thread_pool& pool);

}  // namespace r1::kernels::detail
