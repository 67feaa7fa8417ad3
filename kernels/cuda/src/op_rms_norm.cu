// y = x / sqrt(mean(x²) + eps) [* w], one block per row.
#include "launch.h"
#include "quants.cuh"

namespace r1::kernels::cu {

namespace {

__global__ void rms_norm_kernel(const float* x, const float* w, float* y, int64_t n, int64_t stride, float eps) {
  __shared__ float red[32];
  const float* xr = x + blockIdx.x * stride;
  float* yr = y + blockIdx.x * stride;
  float s = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += xr[i] * xr[i];
  const float k = rsqrtf(block_sum(s, red) / static_cast<float>(n) + eps);
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) yr[i] = w ? xr[i] * k * w[i] : xr[i] * k;
}

}  // namespace

status rms_norm(cudaStream_t s, const float* x, const float* w, float* y, int64_t n, int64_t n_rows, int64_t stride,
                float eps) {
  rms_norm_kernel<<<static_cast<unsigned>(n_rows), 256, 0, s>>>(x, w, y, n, stride, eps);
  return launch_status("rms_norm");
}

}  // namespace r1::kernels::cu
