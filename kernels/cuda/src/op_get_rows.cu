// dst[i] = dequantized row ids[i]: one block per id; ids out of range give zeros.
#include "launch.h"
#include "quants.cuh"

namespace r1::kernels::cu {

namespace {

template <int T>
__global__ void get_rows_kernel(const uint8_t* w, int64_t n_rows, int64_t n_embd, size_t row_bytes,
                                const int32_t* ids, float* dst) {
  const int64_t i = blockIdx.x;
  const int32_t id = ids[i];
  const bool ok = id >= 0 && id < n_rows;
  for (int64_t c = threadIdx.x; c < n_embd / 32; c += blockDim.x) {
    float v[32];
    if (ok) dequant_chunk<T>(w + static_cast<int64_t>(id) * row_bytes, c, v);
    for (int l = 0; l < 32; ++l) dst[i * n_embd + c * 32 + l] = ok ? v[l] : 0.0f;
  }
}

}  // namespace

status get_rows(cudaStream_t s, tensor_type t, const uint8_t* w, int64_t n_rows, int64_t n_embd, size_t row_bytes,
                const int32_t* ids, int64_t n_ids, float* dst) {
  bool ok = true;
#define R1_LAUNCH(T) \
  get_rows_kernel<T><<<static_cast<unsigned>(n_ids), 64, 0, s>>>(w, n_rows, n_embd, row_bytes, ids, dst)
  R1_CU_DISPATCH_TYPE(static_cast<int>(t), ok, R1_LAUNCH)
#undef R1_LAUNCH
  if (!ok) return unavailable("cuda: get_rows does not support this type");
  return launch_status("get_rows");
}

}  // namespace r1::kernels::cu
