#version 450
// In-place row softmax of x*scale; a row of all -inf becomes zeros.
#include "common.glsl"
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer XB { float X[]; };
layout(push_constant) uniform P { uint n, n_rows, stride, x_off; float scale; } p;
shared float red[WG];

void main() {
  uint tid = gl_LocalInvocationID.x;
  for (uint r = gl_WorkGroupID.x; r < p.n_rows; r += gl_NumWorkGroups.x) {
    uint b = p.x_off + r * p.stride;
    float m = -1.0 / 0.0;
    for (uint i = tid; i < p.n; i += WG) m = max(m, X[b + i] * p.scale);
    red[tid] = m;
    barrier();
    for (uint w = WG / 2u; w > 0u; w >>= 1) {
      if (tid < w) red[tid] = max(red[tid], red[tid + w]);
      barrier();
    }
    m = red[0];
    barrier();
    float s = 0.0;
    for (uint i = tid; i < p.n; i += WG) {
      float e = isinf(m) ? 0.0 : exp(X[b + i] * p.scale - m);
      X[b + i] = e;
      s += e;
    }
    red[tid] = s;
    barrier();
    for (uint w = WG / 2u; w > 0u; w >>= 1) {
      if (tid < w) red[tid] += red[tid + w];
      barrier();
    }
    float inv = red[0] > 0.0 ? 1.0 / red[0] : 0.0;
    barrier();
    for (uint i = tid; i < p.n; i += WG) X[b + i] *= inv;
    barrier();
  }
}
