// Private: weight quantizers for the K-quant formats (quantize_k.cpp).
#pragma once

#include <cstdint>

#include "blocks.h"

namespace r1::kernels::detail {

// nb super-blocks of 256 floats each.
void quantize_q2_k(const float* x, block_q2_k* y, int64_t nb);
void quantize_q3_k(const float* x, block_q3_k* y, int64_t nb);
void quantize_q4_k(const float* x, block_q4_k* y, int64_t nb);
void quantize_q5_k(const float* x, block_q5_k* y, int64_t nb);
void quantize_q6_k(const float* x, block_q6_k* y, int64_t nb);

// Round half to even for |v| < 2^22 (ggml nearest_int).
inline int nearest_int(float v) {
  const float shifted = v + 12582912.0f;  // 1.5 * 2^23
  uint32_t bits;
  __builtin_memcpy(&bits, &shifted, 4);
  return static_cast<int>(bits & 0x007fffffu) - 0x00400000;
}

}  // namespace r1::kernels::detail
