#version 450
// y = W·x for batches (prompts): a 64-row × 64-column output tile per workgroup of
// 256 invocations (16 × 16, each accumulating 4 × 4 outputs). Each K step of 32
// dequantizes a 64 × 32 weight tile once (one chunk per row) and loads a 32 × 64
// activation tile into shared memory, so a weight is read once per 64 columns
// instead of once per 4 as in matmul.comp.
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer WB { uint W[]; };
layout(std430, binding = 1) readonly buffer XB { float X[]; };
layout(std430, binding = 2) writeonly buffer YB { float Y[]; };
layout(push_constant) uniform P {
  uint rows, cols, n_cols, x_stride, y_stride, w_off, x_off, y_off, row_bytes;
} p;
DEFINE_BYTE_READS(W)
#include "quants.glsl"

#define TM 64u
#define TN 64u
#define TK 32u
shared float ws[TK * (TM + 1u)];  // ws[k * (TM + 1) + r]: row r0 + r, element k0 + k
shared float xs[TK * (TN + 1u)];  // xs[k * (TN + 1) + c]: column c0 + c, element k0 + k

void main() {
  uint tid = gl_LocalInvocationID.x, tx = tid & 15u, ty = tid >> 4;
  uint r0 = gl_WorkGroupID.x * TM, c0 = gl_WorkGroupID.y * TN;
  float acc[16];
  for (uint i = 0u; i < 16u; ++i) acc[i] = 0.0;
  for (uint k0 = 0u; k0 < p.cols; k0 += TK) {
    if (tid < TM) {
      uint r = r0 + tid;
      float v[32];
      if (r < p.rows) {
        dequant_chunk(p.w_off + r * p.row_bytes, k0 / 32u, v);
      } else {
        for (uint i = 0u; i < 32u; ++i) v[i] = 0.0;
      }
      for (uint i = 0u; i < 32u; ++i) ws[i * (TM + 1u) + tid] = v[i];
    }
    // 2048 activations, 8 per invocation, consecutive invocations along K.
    for (uint m = 0u; m < 8u; ++m) {
      uint e = tid + 256u * m, cc = e >> 5, kk = e & 31u, c = c0 + cc;
      xs[kk * (TN + 1u) + cc] = c < p.n_cols ? X[p.x_off + c * p.x_stride + k0 + kk] : 0.0;
    }
    barrier();
    for (uint k = 0u; k < TK; ++k) {
      float a[4], b[4];
      for (uint i = 0u; i < 4u; ++i) a[i] = ws[k * (TM + 1u) + ty + 16u * i];
      for (uint j = 0u; j < 4u; ++j) b[j] = xs[k * (TN + 1u) + tx + 16u * j];
      for (uint i = 0u; i < 4u; ++i)
        for (uint j = 0u; j < 4u; ++j) acc[i * 4u + j] += a[i] * b[j];
    }
    barrier();
  }
  for (uint i = 0u; i < 4u; ++i) {
    uint r = r0 + ty + 16u * i;
    if (r >= p.rows) continue;
    for (uint j = 0u; j < 4u; ++j) {
      uint c = c0 + tx + 16u * j;
      if (c < p.n_cols) Y[p.y_off + c * p.y_stride + r] = acc[i * 4u + j];
    }
  }
}
