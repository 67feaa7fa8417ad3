// y = W·x: one block of 128 threads per (row, group of 4 columns); each thread
// dequantizes 32-element chunks of the row once and dots them with every column.
#include "launch.h"
#include "quants.cuh"

namespace r1::kernels::cu {

namespace {

constexpr int k_threads = 128;
constexpr int k_cols = 4;

template <int T>
__global__ void matmul_kernel(const uint8_t* w, int64_t cols, size_t row_bytes, const float* x, int64_t n_cols,
                              int64_t x_stride, float* y, int64_t y_stride) {
  __shared__ float red[32];
  const int64_t row = blockIdx.x, col0 = static_cast<int64_t>(blockIdx.y) * k_cols;
  const uint8_t* wr = w + row * row_bytes;
  float acc[k_cols] = {0, 0, 0, 0};
  for (int64_t c = threadIdx.x; c < cols / 32; c += k_threads) {
    float v[32];
    dequant_chunk<T>(wr, c, v);
#pragma unroll
    for (int j = 0; j < k_cols; ++j) {
      if (col0 + j >= n_cols) break;
      const float* xc = x + (col0 + j) * x_stride + c * 32;
      float s = 0;
#pragma unroll
      for (int i = 0; i < 32; ++i) s += v[i] * xc[i];
      acc[j] += s;
    }
  }
#pragma unroll
  for (int j = 0; j < k_cols; ++j) {
    const float s = block_sum(acc[j], red);
    if (threadIdx.x == 0 && col0 + j < n_cols) y[(col0 + j) * y_stride + row] = s;
  }
}

}  // namespace

status matmul(cudaStream_t s, tensor_type t, const uint8_t* w, int64_t rows, int64_t cols, size_t row_bytes,
              const float* x, int64_t n_cols, int64_t x_stride, float* y, int64_t y_stride) {
  const dim3 grid(static_cast<unsigned>(rows), static_cast<unsigned>((n_cols + k_cols - 1) / k_cols));
  if (grid.y > 65535) return invalid_argument("cuda: matmul with too many columns");
  bool ok = true;
#define R1_LAUNCH(T) matmul_kernel<T><<<grid, k_threads, 0, s>>>(w, cols, row_bytes, x, n_cols, x_stride, y, y_stride)
  R1_CU_DISPATCH_TYPE(static_cast<int>(t), ok, R1_LAUNCH)
#undef R1_LAUNCH
  if (!ok) return unavailable("cuda: matmul does not support this weight type");
  return launch_status("matmul");
}

}  // namespace r1::kernels::cu
