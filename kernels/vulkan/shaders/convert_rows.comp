#version 450
// f32 rows -> F32 or F16 rows (KV cache stores); one invocation per pair of values.
#include "common.glsl"
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer SB { float S[]; };
layout(std430, binding = 1) writeonly buffer DB { uint D[]; };
layout(push_constant) uniform P { uint width, n_rows, src_stride, src_off, dst_off_w, dst_stride_w, to_f16; } p;

void main() {
  uint half_ = p.width / 2u, total = half_ * p.n_rows;
  for (uint g = gl_GlobalInvocationID.x; g < total; g += gl_NumWorkGroups.x * WG) {
    uint i = g % half_, r = g / half_;
    uint s = p.src_off + r * p.src_stride + 2u * i;
    if (p.to_f16 != 0u) {
      D[p.dst_off_w + r * p.dst_stride_w + i] = packHalf2x16(vec2(S[s], S[s + 1u]));
    } else {
      D[p.dst_off_w + r * p.dst_stride_w + 2u * i] = floatBitsToUint(S[s]);
      D[p.dst_off_w + r * p.dst_stride_w + 2u * i + 1u] = floatBitsToUint(S[s + 1u]);
    }
  }
}
