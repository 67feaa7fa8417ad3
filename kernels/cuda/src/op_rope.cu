// RoPE in place, one thread per (token, head, pair); theta is the CPU kernel's
// running product of base^(-2/n_rot), so both round alike.
#include "launch.h"

namespace r1::kernels::cu {

namespace {

__global__ void rope_kernel(float* x, const int32_t* pos, const float* ff, rope_consts c) {
  const int half = c.n_rot / 2;
  const int64_t total = c.n_tokens * c.n_heads * half;
  for (int64_t g = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; g < total; g += int64_t{gridDim.x} * blockDim.x) {
    const int i = static_cast<int>(g % half);
    const int64_t h = (g / half) % c.n_heads, t = g / (half * c.n_heads);
    float theta = static_cast<float>(pos[t]);
    for (int k = 0; k < i; ++k) theta *= c.theta_scale;
    const float extrap = theta / (ff ? ff[i] : 1.0f);
    const float interp = c.freq_scale * extrap;
    float th = interp;
    if (c.ext_factor != 0.0f) {
      const float y = (static_cast<float>(i) - c.corr0) / fmaxf(0.001f, c.corr1 - c.corr0);
      const float ramp = (1.0f - fminf(1.0f, fmaxf(0.0f, y))) * c.ext_factor;
      th = interp * (1.0f - ramp) + extrap * ramp;
    }
    float sn, cs;
    sincosf(th, &sn, &cs);  // full-precision range reduction (no --use_fast_math)
    cs *= c.mscale;
    sn *= c.mscale;
    float* v = x + t * c.token_stride + h * c.head_dim;
    const int a = c.neox ? i : 2 * i, b = c.neox ? i + half : 2 * i + 1;
    const float x0 = v[a], x1 = v[b];
    v[a] = x0 * cs - x1 * sn;
    v[b] = x0 * sn + x1 * cs;
  }
}

}  // namespace

status rope(cudaStream_t s, float* x, const int32_t* pos, const float* freq_factors, const rope_consts& c) {
  const int64_t n = c.n_tokens * c.n_heads * (c.n_rot / 2);
  rope_kernel<<<static_cast<unsigned>(std::min<int64_t>((n + 255) / 256, 65535)), 256, 0, s>>>(x, pos, freq_factors,
                                                                                                 c);
  return launch_status("rope");
}

}  // namespace r1::kernels::cu
