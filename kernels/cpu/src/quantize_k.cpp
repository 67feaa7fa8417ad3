// Weight quantizers for the K-quant formats. Each sub-block gets its scale (and
// min) from a small search over candidate inverse scales with a least-squares
// refit; the per-sub-block scales are then quantized against the super-block
// scale and the values requantized with the scales as stored, so the error a
// reader sees is the error that was minimised.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quantize_k.h"
#include "r1/kernels/quants.h"

namespace r1::kernels::detail {
namespace {

int clampi(int v, int lo, int hi) { return std::min(hi, std::max(lo, v)); }

// Fits x[i] ≈ a·L[i] + b with L in [0, nmax] and b <= 0. Returns a; *neg_b = −b.
float fit_scale_min(const float* x, int n, int nmax, uint8_t* out_l, float* neg_b) {
  float mn = x[0], mx = x[0];
  for (int i = 1; i < n; ++i) {
    mn = std::min(mn, x[i]);
    mx = std::max(mx, x[i]);
  }
  if (mn > 0) mn = 0;
  if (mx == mn) {
    std::memset(out_l, 0, static_cast<size_t>(n));
    *neg_b = -mn;
    return 0.0f;
  }
  float best_err = INFINITY, best_a = 0, best_b = 0;
  uint8_t l[32];
  for (int k = 0; k <= 20; ++k) {
    const float iscale = (static_cast<float>(nmax) - 1.0f + 0.1f * static_cast<float>(k)) / (mx - mn);
    double sl = 0, sll = 0, sx = 0, slx = 0;
    for (int i = 0; i < n; ++i) {
      l[i] = static_cast<uint8_t>(clampi(nearest_int(iscale * (x[i] - mn)), 0, nmax));
      sl += l[i];
      sll += static_cast<double>(l[i]) * l[i];
      sx += x[i];
      slx += static_cast<double>(l[i]) * x[i];
    }
    const double det = n * sll - sl * sl;
    if (det <= 0) continue;
    double a = (n * slx - sl * sx) / det;
    double b = (sll * sx - sl * slx) / det;
    if (b > 0) {
      b = 0;
      a = slx / sll;
    }
    double err = 0;
    for (int i = 0; i < n; ++i) {
      const double e = a * l[i] + b - x[i];
      err += e * e;
    }
    if (err < best_err) {
      best_err = static_cast<float>(err);
      best_a = static_cast<float>(a);
      best_b = static_cast<float>(b);
      std::memcpy(out_l, l, static_cast<size_t>(n));
    }
  }
  if (best_err == INFINITY) {  // degenerate: fall back to the plain min/max grid
    best_a = (mx - mn) / static_cast<float>(nmax);
    best_b = mn;
  }
  *neg_b = -best_b;
  return best_a;
}

// Fits x[i] ≈ a·L[i] with L in [−nmax, nmax − 1]. Returns a.
float fit_scale_symmetric(const float* x, int n, int nmax) {
  float amax = 0, max = 0;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (amax == 0) return 0.0f;
  double best = -1, best_a = 0;
  for (int k = -9; k <= 9; ++k) {
    const float iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(k)) / max;
    double sxl = 0, sll = 0;
    for (int i = 0; i < n; ++i) {
      const int l = clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1);
      sxl += static_cast<double>(x[i]) * l;
      sll += static_cast<double>(l) * l;
    }
    if (sll <= 0) continue;
    const double gain = sxl * sxl / sll;  // error = Σx² − gain
    if (gain > best) {
      best = gain;
      best_a = sxl / sll;
    }
  }
  return static_cast<float>(best_a);
}

// Quantizes v >= 0 values against their maximum on an integer grid [0, top].
// Returns the stored fp16 step; q receives the integers.
uint16_t quantize_positive(const float* v, int n, int top, uint8_t* q) {
  float mx = 0;
  for (int i = 0; i < n; ++i) mx = std::max(mx, v[i]);
  const float inv = mx > 0 ? static_cast<float>(top) / mx : 0.0f;
  for (int i = 0; i < n; ++i) q[i] = static_cast<uint8_t>(clampi(nearest_int(inv * v[i]), 0, top));
  return fp32_to_fp16(mx / static_cast<float>(top));
}

// Shared by Q4_K and Q5_K: fits 8 sub-blocks of 32, stores d, dmin, the packed
// scales and the final integer levels l[256] in [0, nmax].
void quantize_k_asym(const float* x, int nmax, uint16_t* d_out, uint16_t* dmin_out, uint8_t* scales12,
                     uint8_t* l) {
  float sc[8], mn[8];
  for (int j = 0; j < 8; ++j) sc[j] = fit_scale_min(x + 32 * j, 32, nmax, l + 32 * j, &mn[j]);
  uint8_t ls[8], lm[8];
  *d_out = quantize_positive(sc, 8, 63, ls);
  *dmin_out = quantize_positive(mn, 8, 63, lm);
  for (int j = 0; j < 4; ++j) {
    scales12[j] = ls[j];
    scales12[j + 4] = lm[j];
  }
  for (int j = 4; j < 8; ++j) {
    scales12[j + 4] = static_cast<uint8_t>((ls[j] & 15) | ((lm[j] & 15) << 4));
    scales12[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
    scales12[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
  }
  const float d = fp16_to_fp32(*d_out), dmin = fp16_to_fp32(*dmin_out);
  for (int j = 0; j < 8; ++j) {
    const float dl = d * static_cast<float>(ls[j]), ml = dmin * static_cast<float>(lm[j]);
    for (int i = 0; i < 32; ++i) {
      const int q = dl != 0 ? nearest_int((x[32 * j + i] + ml) / dl) : 0;
      l[32 * j + i] = static_cast<uint8_t>(clampi(q, 0, nmax));
    }
  }
}

}  // namespace

void quantize_q4_k(const float* x, block_q4_k* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 256) {
    uint8_t l[256];
    std::memset(y[i].scales, 0, 12);
    quantize_k_asym(x, 15, &y[i].d, &y[i].dmin, y[i].scales, l);
    for (int c = 0; c < 4; ++c)
      for (int k = 0; k < 32; ++k)
        y[i].qs[32 * c + k] = static_cast<uint8_t>(l[64 * c + k] | (l[64 * c + 32 + k] << 4));
  }
}

void quantize_q5_k(const float* x, block_q5_k* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 256) {
    uint8_t l[256];
    std::memset(y[i].scales, 0, 12);
    std::memset(y[i].qh, 0, 32);
    quantize_k_asym(x, 31, &y[i].d, &y[i].dmin, y[i].scales, l);
    for (int c = 0; c < 4; ++c) {
      for (int k = 0; k < 32; ++k) {
        const int lo = l[64 * c + k], hi = l[64 * c + 32 + k];
        y[i].qs[32 * c + k] = static_cast<uint8_t>((lo & 15) | ((hi & 15) << 4));
        if (lo & 16) y[i].qh[k] |= static_cast<uint8_t>(1u << (2 * c));
        if (hi & 16) y[i].qh[k] |= static_cast<uint8_t>(2u << (2 * c));
      }
    }
  }
}

void quantize_q6_k(const float* x, block_q6_k* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 256) {
    float sc[16];
    float amax = 0, max = 0;
    for (int j = 0; j < 16; ++j) {
      sc[j] = fit_scale_symmetric(x + 16 * j, 16, 32);
      if (std::fabs(sc[j]) > amax) {
        amax = std::fabs(sc[j]);
        max = sc[j];
      }
    }
    std::memset(&y[i], 0, sizeof(block_q6_k));
    if (amax == 0) {
      for (int k = 0; k < 128; ++k) y[i].ql[k] = 0x00;  // level 32: low nibbles 0, high bits 2
      for (int k = 0; k < 64; ++k) y[i].qh[k] = 0xaa;
      continue;
    }
    const float iscale = -128.0f / max;
    y[i].d = fp32_to_fp16(1.0f / iscale);
    for (int j = 0; j < 16; ++j) y[i].scales[j] = static_cast<int8_t>(std::min(127, nearest_int(iscale * sc[j])));
    const float d = fp16_to_fp32(y[i].d);
    uint8_t l[256];
    for (int j = 0; j < 16; ++j) {
      const float dl = d * static_cast<float>(y[i].scales[j]);
      for (int k = 0; k < 16; ++k) {
        const int q = dl != 0 ? nearest_int(x[16 * j + k] / dl) : 0;
        l[16 * j + k] = static_cast<uint8_t>(clampi(q, -32, 31) + 32);
      }
    }
    for (int h = 0; h < 2; ++h) {
      for (int k = 0; k < 32; ++k) {
        const int q1 = l[128 * h + k], q2 = l[128 * h + k + 32], q3 = l[128 * h + k + 64], q4 = l[128 * h + k + 96];
        y[i].ql[64 * h + k] = static_cast<uint8_t>((q1 & 15) | ((q3 & 15) << 4));
        y[i].ql[64 * h + k + 32] = static_cast<uint8_t>((q2 & 15) | ((q4 & 15) << 4));
        y[i].qh[32 * h + k] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
      }
    }
  }
}

void quantize_q3_k(const float* x, block_q3_k* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 256) {
    float sc[16];
    float amax = 0, max = 0;
    for (int j = 0; j < 16; ++j) {
      sc[j] = fit_scale_symmetric(x + 16 * j, 16, 4);
      if (std::fabs(sc[j]) > amax) {
        amax = std::fabs(sc[j]);
        max = sc[j];
      }
    }
    std::memset(&y[i], 0, sizeof(block_q3_k));
    int ls[16] = {};
    const float iscale = amax != 0 ? -32.0f / max : 0.0f;
    for (int j = 0; j < 16; ++j) ls[j] = clampi(nearest_int(iscale * sc[j]), -32, 31);
    y[i].d = fp32_to_fp16(amax != 0 ? 1.0f / iscale : 0.0f);
    for (int j = 0; j < 16; ++j) {
      const int s = ls[j] + 32;
      y[i].scales[j % 8] |= static_cast<uint8_t>((s & 15) << (j < 8 ? 0 : 4));
      y[i].scales[8 + j % 4] |= static_cast<uint8_t>((s >> 4) << (2 * (j / 4)));
    }
    const float d = fp16_to_fp32(y[i].d);
    for (int e = 0; e < 256; ++e) {
      const float dl = d * static_cast<float>(ls[e / 16]);
      const int q = clampi(dl != 0 ? nearest_int(x[e] / dl) : 0, -4, 3) + 4;
      const int half = e / 128, j = (e % 128) / 32, rest = e % 32;
      y[i].qs[32 * half + rest] |= static_cast<uint8_t>((q & 3) << (2 * j));
      if (q >= 4) y[i].hmask[rest] |= static_cast<uint8_t>(1u << (4 * half + j));
    }
  }
}

void quantize_q2_k(const float* x, block_q2_k* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 256) {
    float sc[16], mn[16];
    uint8_t l[256];
    for (int j = 0; j < 16; ++j) sc[j] = fit_scale_min(x + 16 * j, 16, 3, l + 16 * j, &mn[j]);
    uint8_t ls[16], lm[16];
    std::memset(&y[i], 0, sizeof(block_q2_k));
    y[i].d = quantize_positive(sc, 16, 15, ls);
    y[i].dmin = quantize_positive(mn, 16, 15, lm);
    for (int j = 0; j < 16; ++j) y[i].scales[j] = static_cast<uint8_t>(ls[j] | (lm[j] << 4));
    const float d = fp16_to_fp32(y[i].d), dmin = fp16_to_fp32(y[i].dmin);
    for (int e = 0; e < 256; ++e) {
      const float dl = d * static_cast<float>(ls[e / 16]), ml = dmin * static_cast<float>(lm[e / 16]);
      const int q = clampi(dl != 0 ? nearest_int((x[e] + ml) / dl) : 0, 0, 3);
      const int half = e / 128, j = (e % 128) / 32, rest = e % 32;
      y[i].qs[32 * half + rest] |= static_cast<uint8_t>(q << (2 * j));
    }
  }
}

}  // namespace r1::kernels::detail
