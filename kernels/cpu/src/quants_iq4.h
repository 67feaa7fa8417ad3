// IQ4_NL and IQ4_XS (private to the CPU kernels): dequantization, this library's own
// quantizers, and the scalar dot kernels (IQ4_NL · Q8_0, IQ4_XS · Q8_K). The AVX2 dots live in
// quants_iq4_avx2.cpp. nb counts blocks (32 elements for IQ4_NL, 256 for IQ4_XS).
#pragma once

#include <cstdint>

#include "blocks.h"

namespace r1::kernels::detail {

void dequantize_iq4_nl(const block_iq4_nl* b, float* y, int64_t nb);
void dequantize_iq4_xs(const block_iq4_xs* b, float* y, int64_t nb);

// Per block: the scale minimising the squared error over a small search of candidate scales,
// each element on its nearest codebook value (IQ4_XS: then 6-bit sub-block scales against one
// fp16 super-scale, elements re-assigned with the rounded scales).
void quantize_iq4_nl(const float* x, block_iq4_nl* b, int64_t nb);
void quantize_iq4_xs(const float* x, block_iq4_xs* b, int64_t nb);

float dot_iq4_nl_scalar(int64_t n, const void* w, const void* a);
float dot_iq4_xs_scalar(int64_t n, const void* w, const void* a);
float dot_iq4_nl_avx2(int64_t n, const void* w, const void* a);
float dot_iq4_xs_avx2(int64_t n, const void* w, const void* a);

}  // namespace r1::kernels::detail
