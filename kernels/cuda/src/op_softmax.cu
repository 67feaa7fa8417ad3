// In-place row softmax of x*scale, one block per row; an all -inf row becomes zeros.
#include "launch.h"
#include "quants.cuh"

namespace r1::kernels::cu {

namespace {

__global__ void softmax_kernel(float* x, int64_t n, int64_t stride, float scale) {
  __shared__ float red[32];
  float* r = x + blockIdx.x * stride;
  float m = -INFINITY;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) m = fmaxf(m, r[i] * scale);
  m = block_max(m, red);
  float sum = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const float e = isinf(m) ? 0.0f : expf(r[i] * scale - m);
    r[i] = e;
    sum += e;
  }
  sum = block_sum(sum, red);
  const float inv = sum > 0 ? 1.0f / sum : 0.0f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) r[i] *= inv;
}

}  // namespace

status softmax(cudaStream_t s, float* x, int64_t n, int64_t n_rows, int64_t stride, float scale) {
  softmax_kernel<<<static_cast<unsigned>(n_rows), 256, 0, s>>>(x, n, stride, scale);
  return launch_status("softmax");
}

}  // namespace r1::kernels::cu
