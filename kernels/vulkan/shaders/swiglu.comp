#version 450
// dst = silu(gate) * up.
#include "common.glsl"
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer GB { float G[]; };
layout(std430, binding = 1) readonly buffer UB { float U[]; };
layout(std430, binding = 2) writeonly buffer DB { float D[]; };
layout(push_constant) uniform P { uint n, g_off, u_off, d_off; } p;

void main() {
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += gl_NumWorkGroups.x * WG) {
    float g = G[p.g_off + i];
    D[p.d_off + i] = g / (1.0 + exp(-g)) * U[p.u_off + i];
  }
}
