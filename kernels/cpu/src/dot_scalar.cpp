// Scalar dot kernels: integer products per block, one float scale per block,
// the same grouping the SIMD kernels use. These are the reference the fast
// paths are tested against, and the path for CPUs without AVX2.
#include <cstring>

#include "blocks.h"
#include "quants_iq4.h"
#include "r1/kernels/quants.h"

namespace r1::kernels::detail {
namespace {

float h2f(uint16_t h) { return fp16_to_fp32(h); }

float dot_f32(int64_t n, const void* w, const void* a) {
  const float* x = static_cast<const float*>(w);
  const float* y = static_cast<const float*>(a);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * y[i]);
  return static_cast<float>(sum);
}

float dot_f16(int64_t n, const void* w, const void* a) {
  const uint16_t* x = static_cast<const uint16_t*>(w);
  const uint16_t* y = static_cast<const uint16_t*>(a);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(h2f(x[i]) * h2f(y[i]));
  return static_cast<float>(sum);
}

float dot_bf16(int64_t n, const void* w, const void* a) {
  const uint16_t* x = static_cast<const uint16_t*>(w);
  const uint16_t* y = static_cast<const uint16_t*>(a);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(bf16_to_fp32(x[i]) * bf16_to_fp32(y[i]));
  return static_cast<float>(sum);
}

float dot_q4_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_q4_0*>(w);
  const auto* y = static_cast<const block_q8_0*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / 32; ++i) {
    int s = 0;
    for (int j = 0; j < 16; ++j)
      s += ((x[i].qs[j] & 15) - 8) * y[i].qs[j] + ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + 16];
    sum += static_cast<float>(s) * h2f(x[i].d) * h2f(y[i].d);
  }
  return sum;
}

float dot_q4_1(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_q4_1*>(w);
  const auto* y = static_cast<const block_q8_1*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / 32; ++i) {
    int s = 0;
    for (int j = 0; j < 16; ++j) s += (x[i].qs[j] & 15) * y[i].qs[j] + (x[i].qs[j] >> 4) * y[i].qs[j + 16];
    sum += h2f(x[i].d) * h2f(y[i].d) * static_cast<float>(s) + h2f(x[i].m) * h2f(y[i].s);
  }
  return sum;
}

template <typename B>
int q5_block_isum(const B& x, const int8_t* y, int offset) {
  uint32_t qh;
  std::memcpy(&qh, x.qh, 4);
  int s = 0;
  for (int j = 0; j < 16; ++j) {
    const int hi0 = static_cast<int>(((qh >> j) << 4) & 0x10);
    const int hi1 = static_cast<int>((qh >> (j + 12)) & 0x10);
    s += (((x.qs[j] & 15) | hi0) + offset) * y[j] + (((x.qs[j] >> 4) | hi1) + offset) * y[j + 16];
  }
  return s;
}

float dot_q5_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_q5_0*>(w);
  const auto* y = static_cast<const block_q8_0*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / 32; ++i)
    sum += static_cast<float>(q5_block_isum(x[i], y[i].qs, -16)) * h2f(x[i].d) * h2f(y[i].d);
  return sum;
}

float dot_q5_1(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_q5_1*>(w);
  const auto* y = static_cast<const block_q8_1*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / 32; ++i)
    sum += h2f(x[i].d) * h2f(y[i].d) * static_cast<float>(q5_block_isum(x[i], y[i].qs, 0)) +
           h2f(x[i].m) * h2f(y[i].s);
  return sum;
}

float dot_q8_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_q8_0*>(w);
  const auto* y = static_cast<const block_q8_0*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / 32; ++i) {
    int s = 0;
    for (int j = 0; j < 32; ++j) s += x[i].qs[j] * y[i].qs[j];
    sum += static_cast<float>(s) * h2f(x[i].d) * h2f(y[i].d);
  }
  return sum;
}

float dot_q2_k(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_q2_k*>(w);
  const auto* y = static_cast<const block_q8_k*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / 256; ++i) {
    int summs = 0;
    for (int k = 0; k < 16; ++k) summs += (x[i].scales[k] >> 4) * y[i].bsums[k];
    int isum = 0, is = 0;
    const uint8_t* q = x[i].qs;
    const int8_t* q8 = y[i].qs;
    for (int half = 0; half < 2; ++half, q += 32) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int part = 0; part < 2; ++part) {
          int s = 0;
          for (int l = 0; l < 16; ++l) s += ((q[l + 16 * part] >> shift) & 3) * q8[l];
          isum += (x[i].scales[is++] & 15) * s;
          q8 += 16;
        }
      }
    }
    sum += y[i].d * h2f(x[i].d) * static_cast<float>(isum) - y[i].d * h2f(x[i].dmin) * static_cast<float>(summs);
  }
  return sum;
}

float dot_q3_k(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_q3_k*>(w);
  const auto* y = static_cast<const block_q8_k*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / 256; ++i) {
    int8_t sc[16];
    unpack_scales_q3_k(x[i].scales, sc);
    int isum = 0, is = 0;
    unsigned m = 1;
    const uint8_t* q = x[i].qs;
    const int8_t* q8 = y[i].qs;
    for (int half = 0; half < 2; ++half, q += 32) {
      for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
        for (int part = 0; part < 2; ++part) {
          int s = 0;
          for (int l = 0; l < 16; ++l) {
            const int v = ((q[l + 16 * part] >> shift) & 3) - ((x[i].hmask[l + 16 * part] & m) ? 0 : 4);
            s += v * q8[l];
          }
          isum += sc[is++] * s;
          q8 += 16;
        }
      }
    }
    sum += y[i].d * h2f(x[i].d) * static_cast<float>(isum);
  }
  return sum;
}

template <bool five>
float dot_q45_k(int64_t n, const void* w, const void* a) {
  const auto* y = static_cast<const block_q8_k*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / 256; ++i) {
    const uint8_t* qs;
    const uint8_t* qh = nullptr;
    const uint8_t* scales;
    uint16_t d16, dmin16;
    if constexpr (five) {
      const auto& b = static_cast<const block_q5_k*>(w)[i];
      qs = b.qs, qh = b.qh, scales = b.scales, d16 = b.d, dmin16 = b.dmin;
    } else {
      const auto& b = static_cast<const block_q4_k*>(w)[i];
      qs = b.qs, scales = b.scales, d16 = b.d, dmin16 = b.dmin;
    }
    uint8_t sc[8], mn[8];
    unpack_scale_min_k4(scales, sc, mn);
    int summs = 0;
    for (int j = 0; j < 8; ++j) summs += mn[j] * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
    int isum = 0;
    for (int c = 0; c < 4; ++c) {
      int s1 = 0, s2 = 0;
      for (int l = 0; l < 32; ++l) {
        int lo = qs[32 * c + l] & 15, hi = qs[32 * c + l] >> 4;
        if constexpr (five) {
          lo += (qh[l] >> (2 * c)) & 1 ? 16 : 0;
          hi += (qh[l] >> (2 * c + 1)) & 1 ? 16 : 0;
        }
        s1 += lo * y[i].qs[64 * c + l];
        s2 += hi * y[i].qs[64 * c + 32 + l];
      }
      isum += sc[2 * c] * s1 + sc[2 * c + 1] * s2;
    }
    sum += y[i].d * h2f(d16) * static_cast<float>(isum) - y[i].d * h2f(dmin16) * static_cast<float>(summs);
  }
  return sum;
}

float dot_q6_k(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_q6_k*>(w);
  const auto* y = static_cast<const block_q8_k*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / 256; ++i) {
    int isum = 0;
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = x[i].ql + 64 * h;
      const uint8_t* qh = x[i].qh + 32 * h;
      const int8_t* sc = x[i].scales + 8 * h;
      const int8_t* q8 = y[i].qs + 128 * h;
      int s[8] = {};
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        s[is + 0] += (((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32) * q8[l];
        s[is + 2] += (((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32) * q8[l + 32];
        s[is + 4] += (((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32) * q8[l + 64];
        s[is + 6] += (((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32) * q8[l + 96];
      }
      for (int k = 0; k < 8; ++k) isum += sc[k] * s[k];
    }
    sum += y[i].d * h2f(x[i].d) * static_cast<float>(isum);
  }
  return sum;
}

void f16_to_f32_scalar(const uint16_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(src[i]);
}

void f32_to_f16_scalar(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = fp32_to_fp16(src[i]);
}

}  // namespace

extern const isa_ops scalar_ops = {
    {
        dot_f32, dot_f16, dot_q4_0, dot_q4_1, nullptr, nullptr, dot_q5_0, dot_q5_1,  // 0..7
        dot_q8_0, nullptr, dot_q2_k, dot_q3_k, dot_q45_k<false>, dot_q45_k<true>,   // 8..13
        dot_q6_k, nullptr, nullptr, nullptr, nullptr, nullptr, dot_iq4_nl_scalar, nullptr,  // 14..21
        nullptr, dot_iq4_xs_scalar, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,  // 22..29
        dot_bf16, nullptr,                                                          // 30..31
    },
    {},
    f16_to_f32_scalar,
    f32_to_f16_scalar,
    {},
    {},
    {},
};

}  // namespace r1::kernels::detail
