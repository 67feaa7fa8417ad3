#version 450
// y = x / sqrt(mean(x²) + eps) [* w], one workgroup per row.
#include "common.glsl"
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer XB { float X[]; };
layout(std430, binding = 1) readonly buffer WB { float Wt[]; };
layout(std430, binding = 2) buffer YB { float Y[]; };
layout(push_constant) uniform P { uint n, n_rows, stride, x_off, w_off, y_off, has_w; float eps; } p;
shared float red[WG];

void main() {
  uint tid = gl_LocalInvocationID.x;
  for (uint r = gl_WorkGroupID.x; r < p.n_rows; r += gl_NumWorkGroups.x) {
    uint xb = p.x_off + r * p.stride, yb = p.y_off + r * p.stride;
    float s = 0.0;
    for (uint i = tid; i < p.n; i += WG) s += X[xb + i] * X[xb + i];
    red[tid] = s;
    barrier();
    for (uint w = WG / 2u; w > 0u; w >>= 1) {
      if (tid < w) red[tid] += red[tid + w];
      barrier();
    }
    float k = 1.0 / sqrt(red[0] / float(p.n) + p.eps);
    barrier();
    for (uint i = tid; i < p.n; i += WG) {
      float v = X[xb + i] * k;
      Y[yb + i] = p.has_w != 0u ? v * Wt[p.w_off + i] : v;
    }
    barrier();
  }
}
