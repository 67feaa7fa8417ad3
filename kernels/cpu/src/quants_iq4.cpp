// IQ4_NL and IQ4_XS: 4-bit indices into a fixed non-uniform codebook (denser near zero, where
// weights are), with one fp16 scale per 32 elements (IQ4_NL) or an fp16 super-scale and 6-bit
// sub-block scales per 256 (IQ4_XS, 4.25 bits per weight). Layouts: gguf-and-quants.md §7.
#include "quants_iq4.h"

#include <cmath>
#include <cstring>

#include "r1/kernels/quants.h"

namespace r1::kernels::detail {
namespace {

// Index of the codebook value nearest to v (the table is sorted).
int nearest(float v) {
  if (v <= k_iq4nl_values[0]) return 0;
  if (v >= k_iq4nl_values[15]) return 15;
  int lo = 0, hi = 15;  // values[lo] < v <= values[hi]
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (v > k_iq4nl_values[mid]) lo = mid;
    else hi = mid;
  }
  return v - k_iq4nl_values[lo] <= k_iq4nl_values[hi] - v ? lo : hi;
}

struct group_fit {
  float d = 0;      // the scale: x ≈ d · values[idx]
  float err = 0;
};

// Best scale for n values: candidates map the element of largest magnitude onto either end of
// the codebook, stretched by -10%..+10%; each candidate's indices are refit by least squares.
group_fit fit_group(const float* x, int n, uint8_t* idx) {
  float amax = 0, xmax = 0;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      xmax = x[i];
    }
  }
  group_fit best;
  if (amax == 0) {
    for (int i = 0; i < n; ++i) idx[i] = 8;  // value 1 · d, d = 0
    return best;
  }
  best.err = INFINITY;
  uint8_t trial[32];
  for (const float end : {static_cast<float>(k_iq4nl_values[0]), static_cast<float>(k_iq4nl_values[15])}) {
    for (int step = -10; step <= 10; ++step) {
      const float d = xmax / end * (1.0f + 0.01f * static_cast<float>(step));
      const float id = 1.0f / d;
      double sxq = 0, sqq = 0;
      for (int i = 0; i < n; ++i) {
        trial[i] = static_cast<uint8_t>(nearest(x[i] * id));
        const double q = k_iq4nl_values[trial[i]];
        sxq += x[i] * q;
        sqq += q * q;
      }
      const float dfit = static_cast<float>(sxq / sqq);
      double err = 0;
      for (int i = 0; i < n; ++i) {
        const double e = x[i] - dfit * k_iq4nl_values[trial[i]];
        err += e * e;
      }
      if (err < best.err) {
        best.err = static_cast<float>(err);
        best.d = dfit;
        std::memcpy(idx, trial, static_cast<size_t>(n));
      }
    }
  }
  return best;
}

// Indices of x for a fixed scale d (0 maps everything to the value nearest zero).
void assign(const float* x, int n, float d, uint8_t* idx) {
  const float id = d != 0 ? 1.0f / d : 0.0f;
  for (int i = 0; i < n; ++i) idx[i] = static_cast<uint8_t>(nearest(x[i] * id));
}

void pack_nibbles(const uint8_t* idx, uint8_t* qs) {
  for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>(idx[j] | (idx[j + 16] << 4));
}

}  // namespace

void dequantize_iq4_nl(const block_iq4_nl* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = fp16_to_fp32(b[i].d);
    for (int j = 0; j < 16; ++j) {
      y[j] = d * static_cast<float>(k_iq4nl_values[b[i].qs[j] & 15]);
      y[j + 16] = d * static_cast<float>(k_iq4nl_values[b[i].qs[j] >> 4]);
    }
  }
}

void dequantize_iq4_xs(const block_iq4_xs* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = fp16_to_fp32(b[i].d);
    for (int ib = 0; ib < 8; ++ib, y += 32) {
      const float dl = d * static_cast<float>(iq4_xs_scale(b[i], ib));
      const uint8_t* qs = b[i].qs + 16 * ib;
      for (int j = 0; j < 16; ++j) {
        y[j] = dl * static_cast<float>(k_iq4nl_values[qs[j] & 15]);
        y[j + 16] = dl * static_cast<float>(k_iq4nl_values[qs[j] >> 4]);
      }
    }
  }
}

void quantize_iq4_nl(const float* x, block_iq4_nl* b, int64_t nb) {
  uint8_t idx[32];
  for (int64_t i = 0; i < nb; ++i, x += 32) {
    const group_fit f = fit_group(x, 32, idx);
    b[i].d = fp32_to_fp16(f.d);
    // Re-assign against the scale actually stored.
    assign(x, 32, fp16_to_fp32(b[i].d), idx);
    pack_nibbles(idx, b[i].qs);
  }
}

void quantize_iq4_xs(const float* x, block_iq4_xs* b, int64_t nb) {
  uint8_t idx[32];
  for (int64_t i = 0; i < nb; ++i, x += 256) {
    float s[8];
    float smax = 0;
    for (int ib = 0; ib < 8; ++ib) {
      s[ib] = fit_group(x + 32 * ib, 32, idx).d;
      if (std::fabs(s[ib]) > std::fabs(smax)) smax = s[ib];
    }
    // The largest sub-scale becomes level -32 (the widest one), the others round to theirs.
    b[i].d = fp32_to_fp16(-smax / 32.0f);
    const float d = fp16_to_fp32(b[i].d);
    const float id = d != 0 ? 1.0f / d : 0.0f;
    b[i].scales_h = 0;
    std::memset(b[i].scales_l, 0, sizeof(b[i].scales_l));
    for (int ib = 0; ib < 8; ++ib) {
      const float ratio = s[ib] * id;
      int l = std::isfinite(ratio) ? static_cast<int>(std::lround(std::fmax(-64.0f, std::fmin(64.0f, ratio)))) : 0;
      l = l < -32 ? -32 : l > 31 ? 31 : l;
      const int ls = l + 32;
      b[i].scales_l[ib / 2] = static_cast<uint8_t>(b[i].scales_l[ib / 2] | ((ls & 15) << (4 * (ib % 2))));
      b[i].scales_h = static_cast<uint16_t>(b[i].scales_h | ((ls >> 4) << (2 * ib)));
      assign(x + 32 * ib, 32, d * static_cast<float>(l), idx);
      pack_nibbles(idx, b[i].qs + 16 * ib);
    }
  }
}

float dot_iq4_nl_scalar(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_iq4_nl*>(w);
  const auto* y = static_cast<const block_q8_0*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / 32; ++i) {
    int32_t s = 0;
    for (int j = 0; j < 16; ++j) {
      s += k_iq4nl_values[x[i].qs[j] & 15] * y[i].qs[j];
      s += k_iq4nl_values[x[i].qs[j] >> 4] * y[i].qs[j + 16];
    }
    sum += fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d) * static_cast<float>(s);
  }
  return sum;
}

float dot_iq4_xs_scalar(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const block_iq4_xs*>(w);
  const auto* y = static_cast<const block_q8_k*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / 256; ++i) {
    int32_t s = 0;
    for (int ib = 0; ib < 8; ++ib) {
      const uint8_t* qs = x[i].qs + 16 * ib;
      const int8_t* q8 = y[i].qs + 32 * ib;
      int32_t si = 0;
      for (int j = 0; j < 16; ++j) {
        si += k_iq4nl_values[qs[j] & 15] * q8[j];
        si += k_iq4nl_values[qs[j] >> 4] * q8[j + 16];
      }
      s += si * iq4_xs_scale(x[i], ib);
    }
    sum += fp16_to_fp32(x[i].d) * y[i].d * static_cast<float>(s);
  }
  return sum;
}

}  // namespace r1::kernels::detail
