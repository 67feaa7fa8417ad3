// Private: dequantization of one 32-element chunk of a row, per weight type
// (block layouts as in docs/dev/kernels.md). Blocks start at even addresses.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

namespace r1::kernels::cu {

__device__ __forceinline__ float half_at(const uint8_t* p) {
  return __half2float(__ushort_as_half(*reinterpret_cast<const uint16_t*>(p)));
}

__device__ __forceinline__ void scale_min_k4(const uint8_t* q, int j, float& sc, float& m) {
  if (j < 4) {
    sc = static_cast<float>(q[j] & 63);
    m = static_cast<float>(q[j + 4] & 63);
  } else {
    sc = static_cast<float>((q[j + 4] & 15) | ((q[j - 4] >> 6) << 4));
    m = static_cast<float>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// Type ids as r1::tensor_type (ggml ids).
enum : int { T_F32 = 0, T_F16 = 1, T_Q4_0 = 2, T_Q8_0 = 8, T_Q4_K = 12, T_Q5_K = 13, T_Q6_K = 14, T_BF16 = 30 };

template <int T>
__device__ __forceinline__ void dequant_chunk(const uint8_t* row, int64_t c, float v[32]) {
  if constexpr (T == T_F32) {
    const float* p = reinterpret_cast<const float*>(row) + c * 32;
#pragma unroll
    for (int i = 0; i < 32; ++i) v[i] = p[i];
  } else if constexpr (T == T_F16) {
    const __half* p = reinterpret_cast<const __half*>(row) + c * 32;
#pragma unroll
    for (int i = 0; i < 32; ++i) v[i] = __half2float(p[i]);
  } else if constexpr (T == T_BF16) {
    const uint16_t* p = reinterpret_cast<const uint16_t*>(row) + c * 32;
#pragma unroll
    for (int i = 0; i < 32; ++i) v[i] = __uint_as_float(static_cast<uint32_t>(p[i]) << 16);
  } else if constexpr (T == T_Q8_0) {
    const uint8_t* b = row + c * 34;
    const float d = half_at(b);
    const int8_t* q = reinterpret_cast<const int8_t*>(b + 2);
#pragma unroll
    for (int i = 0; i < 32; ++i) v[i] = d * q[i];
  } else if constexpr (T == T_Q4_0) {
    const uint8_t* b = row + c * 18;
    const float d = half_at(b);
#pragma unroll
    for (int j = 0; j < 16; ++j) {
      v[j] = d * (static_cast<int>(b[2 + j] & 15) - 8);
      v[j + 16] = d * (static_cast<int>(b[2 + j] >> 4) - 8);
    }
  } else if constexpr (T == T_Q4_K || T == T_Q5_K) {
    const int sub = static_cast<int>(c & 7);
    const uint8_t* b = row + (c >> 3) * (T == T_Q4_K ? 144 : 176);
    float sc, m;
    scale_min_k4(b + 4, sub, sc, m);
    const float d = half_at(b) * sc, dm = half_at(b + 2) * m;
    const int sh = 4 * (sub & 1);
    if constexpr (T == T_Q4_K) {
      const uint8_t* qs = b + 16 + 32 * (sub >> 1);
#pragma unroll
      for (int l = 0; l < 32; ++l) v[l] = d * ((qs[l] >> sh) & 15) - dm;
    } else {
      const uint8_t* qh = b + 16;
      const uint8_t* qs = b + 48 + 32 * (sub >> 1);
#pragma unroll
      for (int l = 0; l < 32; ++l) v[l] = d * (((qs[l] >> sh) & 15) | (((qh[l] >> sub) & 1) << 4)) - dm;
    }
  } else if constexpr (T == T_Q6_K) {
    const int sub = static_cast<int>(c & 7), half = sub >> 2, k = sub & 3;
    const uint8_t* b = row + (c >> 3) * 210;
    const uint8_t* ql = b + 64 * half + (k & 1) * 32;
    const uint8_t* qh = b + 128 + 32 * half;
    const int8_t* s = reinterpret_cast<const int8_t*>(b + 192 + 8 * half + 2 * k);
    const int shl = k >= 2 ? 4 : 0, shh = 2 * k;
    const float d = half_at(b + 208), d0 = d * s[0], d1 = d * s[1];
#pragma unroll
    for (int l = 0; l < 32; ++l) {
      const int q = (((ql[l] >> shl) & 15) | (((qh[l] >> shh) & 3) << 4)) - 32;
      v[l] = (l < 16 ? d0 : d1) * q;
    }
  }
}

// Expands LAUNCH(T) for the runtime type id `t` (a compile-time constant per
// case); sets `ok` to false for unsupported ids.
#define R1_CU_DISPATCH_TYPE(t, ok, LAUNCH) \
  switch (t) {                              \
    case T_F32: LAUNCH(T_F32); break;       \
    case T_F16: LAUNCH(T_F16); break;       \
    case T_BF16: LAUNCH(T_BF16); break;     \
    case T_Q8_0: LAUNCH(T_Q8_0); break;     \
    case T_Q4_0: LAUNCH(T_Q4_0); break;     \
    case T_Q4_K: LAUNCH(T_Q4_K); break;     \
    case T_Q5_K: LAUNCH(T_Q5_K); break;     \
    case T_Q6_K: LAUNCH(T_Q6_K); break;     \
    default: ok = false;                    \
  }

// Sum over a block of blockDim.x threads (a multiple of 32); every thread gets the result.
__device__ __forceinline__ float block_sum(float v, float* shared32) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) shared32[warp] = v;
  __syncthreads();
  const int n_warps = blockDim.x / 32;
  v = lane < n_warps ? shared32[lane] : 0.0f;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  __syncthreads();
  return v;
}

__device__ __forceinline__ float block_max(float v, float* shared32) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) shared32[warp] = v;
  __syncthreads();
  const int n_warps = blockDim.x / 32;
  v = lane < n_warps ? shared32[lane] : -INFINITY;
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  __syncthreads();
  return v;
}

}  // namespace r1::kernels::cu
