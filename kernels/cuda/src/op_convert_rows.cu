// f32 rows -> F32 or F16 rows (KV cache stores), round to nearest even.
#include <cuda_fp16.h>

#include "launch.h"

namespace r1::kernels::cu {

namespace {

__global__ void convert_rows_kernel(const float* src, int64_t width, int64_t n_rows, int64_t src_stride, bool to_f16,
                                    uint8_t* dst, size_t dst_stride) {
  const int64_t total = width * n_rows;
  for (int64_t g = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; g < total; g += int64_t{gridDim.x} * blockDim.x) {
    const int64_t i = g % width, r = g / width;
    const float v = src[r * src_stride + i];
    if (to_f16) reinterpret_cast<__half*>(dst + r * dst_stride)[i] = __float2half_rn(v);
    else reinterpret_cast<float*>(dst + r * dst_stride)[i] = v;
  }
}

}  // namespace

status convert_rows(cudaStream_t s, const float* src, int64_t width, int64_t n_rows, int64_t src_stride, bool to_f16,
                    uint8_t* dst, size_t dst_stride_bytes) {
  const int64_t n = width * n_rows;
  convert_rows_kernel<<<static_cast<unsigned>(std::min<int64_t>((n + 255) / 256, 65535)), 256, 0, s>>>(
      src, width, n_rows, src_stride, to_f16, dst, dst_stride_bytes);
  return launch_status("convert_rows");
}

}  // namespace r1::kernels::cu
