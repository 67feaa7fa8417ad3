// Private: dequantization of 8 consecutive elements of a row (element e0, a multiple
// of 8), per weight type, with the widest loads each block layout allows when the
// row starts 16-byte aligned (the caller checks): 8/16-byte loads for F32, F16,
// BF16, Q4_K and Q5_K (whose blocks are multiples of 16 bytes), 2-byte loads for
// Q8_0, Q4_0 and Q6_K (34-, 18- and 210-byte blocks). Values are exactly those
// of dequant_chunk in quants.cuh.
#pragma once

#include "quants.cuh"

namespace r1::kernels::cu {

// 8 bytes at a 2-byte aligned address, as two little-endian words.
__device__ __forceinline__ uint2 load8_a2(const uint8_t* p) {
  const uint16_t* h = reinterpret_cast<const uint16_t*>(p);
  return make_uint2(static_cast<uint32_t>(h[0]) | (static_cast<uint32_t>(h[1]) << 16),
                    static_cast<uint32_t>(h[2]) | (static_cast<uint32_t>(h[3]) << 16));
}
__device__ __forceinline__ uint32_t byte_of(uint2 w, int i) { return ((i < 4 ? w.x : w.y) >> (8 * (i & 3))) & 0xffu; }

template <int T>
__device__ __forceinline__ void dequant8(const uint8_t* row, int64_t e0, float v[8]) {
  if constexpr (T == T_F32) {
    const float4* p = reinterpret_cast<const float4*>(row + e0 * 4);
    const float4 a = p[0], b = p[1];
    v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w, v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w;
  } else if constexpr (T == T_F16 || T == T_BF16) {
    const uint4 q = *reinterpret_cast<const uint4*>(row + e0 * 2);
    const uint32_t w[4] = {q.x, q.y, q.z, q.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      if constexpr (T == T_F16) {
        const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&w[i]));
        v[2 * i] = f.x, v[2 * i + 1] = f.y;
      } else {
        v[2 * i] = __uint_as_float(w[i] << 16);
        v[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
      }
    }
  } else if constexpr (T == T_Q8_0) {
    const uint8_t* b = row + (e0 >> 5) * 34;
    const float d = half_at(b);
    const uint2 q = load8_a2(b + 2 + (e0 & 31));
#pragma unroll
    for (int i = 0; i < 8; ++i) v[i] = d * static_cast<float>(static_cast<int8_t>(byte_of(q, i)));
  } else if constexpr (T == T_Q4_0) {
    const uint8_t* b = row + (e0 >> 5) * 18;
    const float d = half_at(b);
    const int l0 = static_cast<int>(e0 & 31);
    const uint2 q = load8_a2(b + 2 + (l0 & 15));
    const int sh = l0 >= 16 ? 4 : 0;
#pragma unroll
    for (int i = 0; i < 8; ++i) v[i] = d * (static_cast<int>((byte_of(q, i) >> sh) & 15) - 8);
  } else if constexpr (T == T_Q4_K || T == T_Q5_K) {
    const int64_t c = e0 >> 5;
    const int sub = static_cast<int>(c & 7), l0 = static_cast<int>(e0 & 31);
    const uint8_t* b = row + (c >> 3) * (T == T_Q4_K ? 144 : 176);
    float sc, m;
    scale_min_k4(b + 4, sub, sc, m);
    const float d = half_at(b) * sc, dm = half_at(b + 2) * m;
    const int sh = 4 * (sub & 1);
    const uint2 q = *reinterpret_cast<const uint2*>(b + (T == T_Q4_K ? 16 : 48) + 32 * (sub >> 1) + l0);
    if constexpr (T == T_Q4_K) {
#pragma unroll
      for (int i = 0; i < 8; ++i) v[i] = d * static_cast<float>((byte_of(q, i) >> sh) & 15) - dm;
    } else {
      const uint2 h = *reinterpret_cast<const uint2*>(b + 16 + l0);
#pragma unroll
      for (int i = 0; i < 8; ++i)
        v[i] = d * static_cast<float>(((byte_of(q, i) >> sh) & 15) | (((byte_of(h, i) >> sub) & 1) << 4)) - dm;
    }
  } else if constexpr (T == T_Q6_K) {
    const int64_t c = e0 >> 5;
    const int sub = static_cast<int>(c & 7), half = sub >> 2, k = sub & 3, l0 = static_cast<int>(e0 & 31);
    const uint8_t* b = row + (c >> 3) * 210;
    const uint2 ql = load8_a2(b + 64 * half + (k & 1) * 32 + l0);
    const uint2 qh = load8_a2(b + 128 + 32 * half + l0);
    const int8_t* s = reinterpret_cast<const int8_t*>(b + 192 + 8 * half + 2 * k);
    const int shl = k >= 2 ? 4 : 0, shh = 2 * k;
    const float ds = half_at(b + 208) * (l0 < 16 ? s[0] : s[1]);
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const int q = static_cast<int>(((byte_of(ql, i) >> shl) & 15) | (((byte_of(qh, i) >> shh) & 3) << 4)) - 32;
      v[i] = ds * static_cast<float>(q);
    }
  }
}

}  // namespace r1::kernels::cu
