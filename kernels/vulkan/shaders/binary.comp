#version 450
// dst = a + b or a * b, b broadcast with period b_len.
#include "common.glsl"
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer AB { float A[]; };
layout(std430, binding = 1) readonly buffer BB { float B[]; };
layout(std430, binding = 2) writeonly buffer DB { float D[]; };
layout(push_constant) uniform P { uint n, b_len, a_off, b_off, d_off, op; } p;

void main() {
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += gl_NumWorkGroups.x * WG) {
    float a = A[p.a_off + i], b = B[p.b_off + i % p.b_len];
    D[p.d_off + i] = p.op == 0u ? a + b : a * b;
  }
}
