// Scalar dequantization of every supported block format (gguf-and-quants.md §5).
#include <cstring>

#include "blocks.h"
#include "quants_iq4.h"
#include "r1/kernels/quants.h"

namespace r1::kernels {
namespace {
using namespace detail;

void deq_q4_0(const block_q4_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = fp16_to_fp32(b[i].d);
    for (int j = 0; j < 16; ++j) {
      y[j] = d * static_cast<float>((b[i].qs[j] & 15) - 8);
      y[j + 16] = d * static_cast<float>((b[i].qs[j] >> 4) - 8);
    }
  }
}

void deq_q4_1(const block_q4_1* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = fp16_to_fp32(b[i].d), m = fp16_to_fp32(b[i].m);
    for (int j = 0; j < 16; ++j) {
      y[j] = d * static_cast<float>(b[i].qs[j] & 15) + m;
      y[j + 16] = d * static_cast<float>(b[i].qs[j] >> 4) + m;
    }
  }
}

uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

template <typename B>
void deq_q5(const B* b, float* y, int64_t nb, bool has_min) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = fp16_to_fp32(b[i].d);
    float m = 0.0f;
    int offset = -16;
    if constexpr (sizeof(B) == sizeof(block_q5_1)) {
      m = fp16_to_fp32(b[i].m);
    }
    if (has_min) offset = 0;
    const uint32_t qh = load_u32(b[i].qh);
    for (int j = 0; j < 16; ++j) {
      const int hi0 = static_cast<int>(((qh >> j) << 4) & 0x10);
      const int hi1 = static_cast<int>((qh >> (j + 12)) & 0x10);
      y[j] = d * static_cast<float>(((b[i].qs[j] & 15) | hi0) + offset) + m;
      y[j + 16] = d * static_cast<float>(((b[i].qs[j] >> 4) | hi1) + offset) + m;
    }
  }
}

void deq_q8_0(const block_q8_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = fp16_to_fp32(b[i].d);
    for (int j = 0; j < 32; ++j) y[j] = d * static_cast<float>(b[i].qs[j]);
  }
}

void deq_q8_1(const block_q8_1* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = fp16_to_fp32(b[i].d);
    for (int j = 0; j < 32; ++j) y[j] = d * static_cast<float>(b[i].qs[j]);
  }
}

void deq_q2_k(const block_q2_k* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = fp16_to_fp32(b[i].d), dmin = fp16_to_fp32(b[i].dmin);
    const uint8_t* q = b[i].qs;
    int is = 0;
    for (int half = 0; half < 2; ++half, q += 32) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int part = 0; part < 2; ++part) {
          const uint8_t sc = b[i].scales[is++];
          const float dl = d * static_cast<float>(sc & 15), ml = dmin * static_cast<float>(sc >> 4);
          for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<float>((q[l + 16 * part] >> shift) & 3) - ml;
        }
      }
    }
  }
}

void deq_q3_k(const block_q3_k* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = fp16_to_fp32(b[i].d);
    int8_t sc[16];
    unpack_scales_q3_k(b[i].scales, sc);
    const uint8_t* q = b[i].qs;
    int is = 0;
    unsigned m = 1;
    for (int half = 0; half < 2; ++half, q += 32) {
      for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
        for (int part = 0; part < 2; ++part) {
          const float dl = d * static_cast<float>(sc[is++]);
          for (int l = 0; l < 16; ++l) {
            const int lo = (q[l + 16 * part] >> shift) & 3;
            const int hi = (b[i].hmask[l + 16 * part] & m) ? 0 : 4;
            *y++ = dl * static_cast<float>(lo - hi);
          }
        }
      }
    }
  }
}

void deq_q4_k(const block_q4_k* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = fp16_to_fp32(b[i].d), dmin = fp16_to_fp32(b[i].dmin);
    uint8_t sc[8], mn[8];
    unpack_scale_min_k4(b[i].scales, sc, mn);
    for (int c = 0; c < 4; ++c) {
      const uint8_t* q = b[i].qs + 32 * c;
      const float d1 = d * static_cast<float>(sc[2 * c]), m1 = dmin * static_cast<float>(mn[2 * c]);
      const float d2 = d * static_cast<float>(sc[2 * c + 1]), m2 = dmin * static_cast<float>(mn[2 * c + 1]);
      for (int l = 0; l < 32; ++l) y[l] = d1 * static_cast<float>(q[l] & 15) - m1;
      for (int l = 0; l < 32; ++l) y[l + 32] = d2 * static_cast<float>(q[l] >> 4) - m2;
      y += 64;
    }
  }
}

void deq_q5_k(const block_q5_k* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = fp16_to_fp32(b[i].d), dmin = fp16_to_fp32(b[i].dmin);
    uint8_t sc[8], mn[8];
    unpack_scale_min_k4(b[i].scales, sc, mn);
    for (int c = 0; c < 4; ++c) {
      const uint8_t* q = b[i].qs + 32 * c;
      const uint8_t u1 = static_cast<uint8_t>(1u << (2 * c)), u2 = static_cast<uint8_t>(2u << (2 * c));
      const float d1 = d * static_cast<float>(sc[2 * c]), m1 = dmin * static_cast<float>(mn[2 * c]);
      const float d2 = d * static_cast<float>(sc[2 * c + 1]), m2 = dmin * static_cast<float>(mn[2 * c + 1]);
      for (int l = 0; l < 32; ++l)
        y[l] = d1 * static_cast<float>((q[l] & 15) + ((b[i].qh[l] & u1) ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l)
        y[l + 32] = d2 * static_cast<float>((q[l] >> 4) + ((b[i].qh[l] & u2) ? 16 : 0)) - m2;
      y += 64;
    }
  }
}

void deq_q6_k(const block_q6_k* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = fp16_to_fp32(b[i].d);
    const uint8_t* ql = b[i].ql;
    const uint8_t* qh = b[i].qh;
    const int8_t* sc = b[i].scales;
    for (int half = 0; half < 2; ++half) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
        y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
        y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
        y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}

void deq_q8_k(const block_q8_k* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 256)
    for (int j = 0; j < 256; ++j) y[j] = b[i].d * static_cast<float>(b[i].qs[j]);
}

}  // namespace

bool can_dequantize(tensor_type t) {
  switch (t) {
    case tensor_type::f32: case tensor_type::f16: case tensor_type::bf16:
    case tensor_type::q4_0: case tensor_type::q4_1: case tensor_type::q5_0: case tensor_type::q5_1:
    case tensor_type::q8_0: case tensor_type::q8_1: case tensor_type::q2_k: case tensor_type::q3_k:
    case tensor_type::q4_k: case tensor_type::q5_k: case tensor_type::q6_k: case tensor_type::q8_k:
    case tensor_type::iq4_nl: case tensor_type::iq4_xs:
      return true;
    default:
      return false;
  }
}

size_t row_size(tensor_type t, int64_t n) {
  const auto& info = type_info(t);
  return static_cast<size_t>(n / info.block_elems) * info.block_bytes;
}

status dequantize_row(tensor_type t, const void* src, float* dst, int64_t n) {
  if (!can_dequantize(t)) return invalid_argument("dequantize: unsupported type " + std::string(type_info(t).name));
  const auto& info = type_info(t);
  if (n < 0 || n % info.block_elems != 0)
    return invalid_argument("dequantize " + std::string(info.name) + ": " + std::to_string(n) +
                            " elements is not a multiple of " + std::to_string(info.block_elems));
  const int64_t nb = n / info.block_elems;
  switch (t) {
    case tensor_type::f32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); break;
    case tensor_type::f16: convert_f16_to_f32(static_cast<const uint16_t*>(src), dst, n); break;
    case tensor_type::bf16: convert_bf16_to_f32(static_cast<const uint16_t*>(src), dst, n); break;
    case tensor_type::q4_0: deq_q4_0(static_cast<const block_q4_0*>(src), dst, nb); break;
    case tensor_type::q4_1: deq_q4_1(static_cast<const block_q4_1*>(src), dst, nb); break;
    case tensor_type::q5_0: deq_q5(static_cast<const block_q5_0*>(src), dst, nb, false); break;
    case tensor_type::q5_1: deq_q5(static_cast<const block_q5_1*>(src), dst, nb, true); break;
    case tensor_type::q8_0: deq_q8_0(static_cast<const block_q8_0*>(src), dst, nb); break;
    case tensor_type::q8_1: deq_q8_1(static_cast<const block_q8_1*>(src), dst, nb); break;
    case tensor_type::q2_k: deq_q2_k(static_cast<const block_q2_k*>(src), dst, nb); break;
    case tensor_type::q3_k: deq_q3_k(static_cast<const block_q3_k*>(src), dst, nb); break;
    case tensor_type::q4_k: deq_q4_k(static_cast<const block_q4_k*>(src), dst, nb); break;
    case tensor_type::q5_k: deq_q5_k(static_cast<const block_q5_k*>(src), dst, nb); break;
    case tensor_type::q6_k: deq_q6_k(static_cast<const block_q6_k*>(src), dst, nb); break;
    case tensor_type::q8_k: deq_q8_k(static_cast<const block_q8_k*>(src), dst, nb); break;
    case tensor_type::iq4_nl: dequantize_iq4_nl(static_cast<const block_iq4_nl*>(src), dst, nb); break;
    case tensor_type::iq4_xs: dequantize_iq4_xs(static_cast<const block_iq4_xs*>(src), dst, nb); break;
    default: break;
  }
  return ok_status();
}

}  // namespace r1::kernels
