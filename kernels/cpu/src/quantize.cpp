// Quantizers for the legacy 32-element formats and the activation formats
// (Q8_0, Q8_1, Q8_K), and the quantize_row entry points.
#include <cmath>
#include <cstring>
#include <string>

#include "blocks.h"
#include "quants_iq4.h"
#include "quantize_k.h"
#include "r1/kernels/quants.h"

namespace r1::kernels {
namespace {
using namespace detail;

// float -> level with the C truncation ggml uses, clamped to [0, top] first so
// NaN, inf and huge inputs from a broken model file stay defined behaviour.
int trunc_level(float v, int top) {
  if (!(v >= 0.0f)) return 0;
  if (v >= static_cast<float>(top)) return top;
  return static_cast<int>(v);
}

float block_amax(const float* x, int n) {
  float amax = 0.0f;
  for (int j = 0; j < n; ++j) amax = std::fmax(amax, std::fabs(x[j]));
  return amax;
}

// The signed element of largest magnitude (first one on ties), as ggml picks it.
float block_signed_max(const float* x, int n) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

// x86 activation rule: id = 127/amax, round half to even. sum_out: Σq (for Q8_1).
void q8_block_simd_rule(const float* x, int8_t* qs, float* d_out, int* sum_out) {
  const float amax = block_amax(x, 32);
  const float d = amax / 127.0f;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  int sum = 0;
  for (int j = 0; j < 32; ++j) {
    qs[j] = static_cast<int8_t>(nearest_int(x[j] * id));
    sum += qs[j];
  }
  *d_out = d;
  *sum_out = sum;
}

// ggml's C reference rule: id = 1/d, roundf (half away from zero).
void q8_block_ref_rule(const float* x, int8_t* qs, float* d_out, int* sum_out) {
  const float amax = block_amax(x, 32);
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  int sum = 0;
  for (int j = 0; j < 32; ++j) {
    const float r = std::roundf(x[j] * id);
    qs[j] = static_cast<int8_t>(r >= -128.0f && r <= 127.0f ? static_cast<int>(r) : 0);
    sum += qs[j];
  }
  *d_out = d;
  *sum_out = sum;
}

using q8_rule = void (*)(const float*, int8_t*, float*, int*);

void quantize_q8_0(const float* x, block_q8_0* y, int64_t nb, q8_rule rule) {
  for (int64_t i = 0; i < nb; ++i, x += 32) {
    float d;
    int sum;
    rule(x, y[i].qs, &d, &sum);
    y[i].d = fp32_to_fp16(d);
  }
}

void quantize_q8_1(const float* x, block_q8_1* y, int64_t nb, q8_rule rule) {
  for (int64_t i = 0; i < nb; ++i, x += 32) {
    float d;
    int sum;
    rule(x, y[i].qs, &d, &sum);
    y[i].d = fp32_to_fp16(d);
    y[i].s = fp32_to_fp16(d * static_cast<float>(sum));
  }
}

void quantize_q8_k(const float* x, block_q8_k* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 256) {
    const float max = block_signed_max(x, 256);
    if (max == 0.0f) {
      std::memset(&y[i], 0, sizeof(block_q8_k));
      continue;
    }
    const float iscale = -127.0f / max;
    for (int j = 0; j < 256; ++j) {
      const int v = nearest_int(iscale * x[j]);
      y[i].qs[j] = static_cast<int8_t>(v < 127 ? v : 127);
    }
    for (int k = 0; k < 16; ++k) {
      int s = 0;
      for (int j = 0; j < 16; ++j) s += y[i].qs[16 * k + j];
      y[i].bsums[k] = static_cast<int16_t>(s);
    }
    y[i].d = 1.0f / iscale;
  }
}

void quantize_q4_0(const float* x, block_q4_0* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 32) {
    const float max = block_signed_max(x, 32);
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    for (int j = 0; j < 16; ++j) {
      const int a = trunc_level(x[j] * id + 8.5f, 15);
      const int b = trunc_level(x[j + 16] * id + 8.5f, 15);
      y[i].qs[j] = static_cast<uint8_t>(a | (b << 4));
    }
  }
}

void block_min_max(const float* x, int n, float* mn, float* mx) {
  *mn = x[0];
  *mx = x[0];
  for (int j = 1; j < n; ++j) {
    *mn = std::fmin(*mn, x[j]);
    *mx = std::fmax(*mx, x[j]);
  }
}

void quantize_q4_1(const float* x, block_q4_1* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 32) {
    float mn, mx;
    block_min_max(x, 32, &mn, &mx);
    const float d = (mx - mn) / 15.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    y[i].m = fp32_to_fp16(mn);
    for (int j = 0; j < 16; ++j) {
      const int a = trunc_level((x[j] - mn) * id + 0.5f, 15);
      const int b = trunc_level((x[j + 16] - mn) * id + 0.5f, 15);
      y[i].qs[j] = static_cast<uint8_t>(a | (b << 4));
    }
  }
}

void store_q5_bits(const int* q, uint8_t* qs, uint8_t* qh4) {
  uint32_t qh = 0;
  for (int j = 0; j < 16; ++j) {
    qs[j] = static_cast<uint8_t>((q[j] & 15) | ((q[j + 16] & 15) << 4));
    qh |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
    qh |= static_cast<uint32_t>((q[j + 16] >> 4) & 1) << (j + 16);
  }
  std::memcpy(qh4, &qh, 4);
}

void quantize_q5_0(const float* x, block_q5_0* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 32) {
    const float max = block_signed_max(x, 32);
    const float d = max / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    int q[32];
    for (int j = 0; j < 32; ++j) q[j] = trunc_level(x[j] * id + 16.5f, 31);
    store_q5_bits(q, y[i].qs, y[i].qh);
  }
}

void quantize_q5_1(const float* x, block_q5_1* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 32) {
    float mn, mx;
    block_min_max(x, 32, &mn, &mx);
    const float d = (mx - mn) / 31.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    y[i].m = fp32_to_fp16(mn);
    int q[32];
    for (int j = 0; j < 32; ++j) q[j] = trunc_level((x[j] - mn) * id + 0.5f, 31);
    store_q5_bits(q, y[i].qs, y[i].qh);
  }
}

status check_row(tensor_type t, int64_t n) {
  if (!can_quantize(t)) return invalid_argument("quantize: unsupported type " + std::string(type_info(t).name));
  const auto& info = type_info(t);
  if (n < 0 || n % info.block_elems != 0)
    return invalid_argument("quantize " + std::string(info.name) + ": " + std::to_string(n) +
                            " elements is not a multiple of " + std::to_string(info.block_elems));
  return ok_status();
}

status quantize_impl(tensor_type t, const float* src, void* dst, int64_t n, q8_rule rule) {
  R1_RETURN_IF_ERROR(check_row(t, n));
  const int64_t nb = n / type_info(t).block_elems;
  switch (t) {
    case tensor_type::f32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); break;
    case tensor_type::f16: convert_f32_to_f16(src, static_cast<uint16_t*>(dst), n); break;
    case tensor_type::bf16: convert_f32_to_bf16(src, static_cast<uint16_t*>(dst), n); break;
    case tensor_type::q4_0: quantize_q4_0(src, static_cast<block_q4_0*>(dst), nb); break;
    case tensor_type::q4_1: quantize_q4_1(src, static_cast<block_q4_1*>(dst), nb); break;
    case tensor_type::q5_0: quantize_q5_0(src, static_cast<block_q5_0*>(dst), nb); break;
    case tensor_type::q5_1: quantize_q5_1(src, static_cast<block_q5_1*>(dst), nb); break;
    case tensor_type::q8_0: quantize_q8_0(src, static_cast<block_q8_0*>(dst), nb, rule); break;
    case tensor_type::q8_1: quantize_q8_1(src, static_cast<block_q8_1*>(dst), nb, rule); break;
    case tensor_type::q8_k: quantize_q8_k(src, static_cast<block_q8_k*>(dst), nb); break;
    case tensor_type::q2_k: quantize_q2_k(src, static_cast<block_q2_k*>(dst), nb); break;
    case tensor_type::q3_k: quantize_q3_k(src, static_cast<block_q3_k*>(dst), nb); break;
    case tensor_type::q4_k: quantize_q4_k(src, static_cast<block_q4_k*>(dst), nb); break;
    case tensor_type::q5_k: quantize_q5_k(src, static_cast<block_q5_k*>(dst), nb); break;
    case tensor_type::q6_k: quantize_q6_k(src, static_cast<block_q6_k*>(dst), nb); break;
    case tensor_type::iq4_nl: quantize_iq4_nl(src, static_cast<block_iq4_nl*>(dst), nb); break;
    case tensor_type::iq4_xs: quantize_iq4_xs(src, static_cast<block_iq4_xs*>(dst), nb); break;
    default: break;
  }
  return ok_status();
}

}  // namespace

bool can_quantize(tensor_type t) { return can_dequantize(t); }

status quantize_row(tensor_type t, const float* src, void* dst, int64_t n) {
  return quantize_impl(t, src, dst, n, q8_block_simd_rule);
}

status quantize_row_reference(tensor_type t, const float* src, void* dst, int64_t n) {
  return quantize_impl(t, src, dst, n, q8_block_ref_rule);
}

}  // namespace r1::kernels
