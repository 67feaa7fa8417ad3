// add / mul with broadcast, and swiglu: grid-stride loops.
#include "launch.h"

namespace r1::kernels::cu {

namespace {

unsigned blocks_for(int64_t n) { return static_cast<unsigned>(std::min<int64_t>((n + 255) / 256, 65535)); }

__global__ void binary_kernel(bool add, const float* a, const float* b, float* d, int64_t n, int64_t b_len) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    d[i] = add ? a[i] + b[i % b_len] : a[i] * b[i % b_len];
}

__global__ void swiglu_kernel(const float* g, const float* u, float* d, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    d[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

}  // namespace

status binary(cudaStream_t s, bool add, const float* a, const float* b, float* d, int64_t n, int64_t b_len) {
  binary_kernel<<<blocks_for(n), 256, 0, s>>>(add, a, b, d, n, b_len);
  return launch_status("binary");
}

status swiglu(cudaStream_t s, const float* g, const float* u, float* d, int64_t n) {
  swiglu_kernel<<<blocks_for(n), 256, 0, s>>>(g, u, d, n);
  return launch_status("swiglu");
}

}  // namespace r1::kernels::cu
