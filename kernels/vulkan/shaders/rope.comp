#version 450
// RoPE in place, one invocation per (token, head, pair). theta follows the CPU
// kernel: a running product of base^(-2/n_rot), so both round the same way.
#include "common.glsl"
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer XB { float X[]; };
layout(std430, binding = 1) readonly buffer PB { int POS[]; };
layout(std430, binding = 2) readonly buffer FB { float FF[]; };
layout(push_constant) uniform P {
  uint n_tokens, n_heads, head_dim, token_stride, n_rot, neox, x_off, pos_off, ff_off, has_ff;
  float theta_scale, freq_scale, ext_factor, mscale, corr0, corr1;
} p;

void main() {
  uint half_ = p.n_rot / 2u;
  uint total = p.n_tokens * p.n_heads * half_;
  for (uint g = gl_GlobalInvocationID.x; g < total; g += gl_NumWorkGroups.x * WG) {
    uint i = g % half_, h = (g / half_) % p.n_heads, t = g / (half_ * p.n_heads);
    float theta = float(POS[p.pos_off + t]);
    for (uint k = 0u; k < i; ++k) theta *= p.theta_scale;
    float ff = p.has_ff != 0u ? FF[p.ff_off + i] : 1.0;
    float extrap = theta / ff;
    float interp = p.freq_scale * extrap;
    float th = interp;
    if (p.ext_factor != 0.0) {
      float y = (float(i) - p.corr0) / max(0.001, p.corr1 - p.corr0);
      float ramp = (1.0 - min(1.0, max(0.0, y))) * p.ext_factor;
      th = interp * (1.0 - ramp) + extrap * ramp;
    }
    float c = cos(th) * p.mscale, s = sin(th) * p.mscale;
    uint base = p.x_off + t * p.token_stride + h * p.head_dim;
    uint a = base + (p.neox != 0u ? i : 2u * i), b = base + (p.neox != 0u ? i + half_ : 2u * i + 1u);
    float x0 = X[a], x1 = X[b];
    X[a] = x0 * c - x1 * s;
    X[b] = x0 * s + x1 * c;
  }
}
