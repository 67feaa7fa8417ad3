#version 450
// y = W·x for up to NC activation columns per workgroup: each thread dequantizes
// 32-element chunks of one weight row once and dots them with every column.
#include "common.glsl"
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer WB { uint W[]; };
layout(std430, binding = 1) readonly buffer XB { float X[]; };
layout(std430, binding = 2) writeonly buffer YB { float Y[]; };
layout(push_constant) uniform P {
  uint rows, cols, n_cols, x_stride, y_stride, w_off, x_off, y_off, row_bytes;
} p;
DEFINE_BYTE_READS(W)
#include "quants.glsl"

#define NC 4u
shared float red[NC * WG];

void main() {
  uint tid = gl_LocalInvocationID.x;
  uint col0 = gl_WorkGroupID.y * NC;
  uint nchunks = p.cols / 32u;
  for (uint row = gl_WorkGroupID.x; row < p.rows; row += gl_NumWorkGroups.x) {
    float acc[NC];
    for (uint j = 0u; j < NC; ++j) acc[j] = 0.0;
    uint rowb = p.w_off + row * p.row_bytes;
    for (uint c = tid; c < nchunks; c += WG) {
      float v[32];
      dequant_chunk(rowb, c, v);
      for (uint j = 0u; j < NC; ++j) {
        if (col0 + j >= p.n_cols) break;
        uint xb = p.x_off + (col0 + j) * p.x_stride + c * 32u;
        float s = 0.0;
        for (uint i = 0u; i < 32u; ++i) s += v[i] * X[xb + i];
        acc[j] += s;
      }
    }
    for (uint j = 0u; j < NC; ++j) red[j * WG + tid] = acc[j];
    barrier();
    for (uint w = WG / 2u; w > 0u; w >>= 1) {
      if (tid < w)
        for (uint j = 0u; j < NC; ++j) red[j * WG + tid] += red[j * WG + tid + w];
      barrier();
    }
    if (tid < NC && col0 + tid < p.n_cols) Y[p.y_off + (col0 + tid) * p.y_stride + row] = red[tid * WG];
    barrier();
  }
}
