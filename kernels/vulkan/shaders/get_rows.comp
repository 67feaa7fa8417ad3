#version 450
// dst[i] = dequantized row ids[i]; one workgroup per id, threads over 32-element chunks.
#include "common.glsl"
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer WB { uint W[]; };
layout(std430, binding = 1) readonly buffer IB { int IDS[]; };
layout(std430, binding = 2) writeonly buffer DB { float D[]; };
layout(push_constant) uniform P { uint n_rows, n_embd, n_ids, w_off, ids_off, dst_off, row_bytes; } p;
DEFINE_BYTE_READS(W)
#include "quants.glsl"

void main() {
  uint nchunks = p.n_embd / 32u;
  for (uint i = gl_WorkGroupID.x; i < p.n_ids; i += gl_NumWorkGroups.x) {
    int id = IDS[p.ids_off + i];
    bool ok = id >= 0 && uint(id) < p.n_rows;
    for (uint c = gl_LocalInvocationID.x; c < nchunks; c += WG) {
      float v[32];
      if (ok) dequant_chunk(p.w_off + uint(id) * p.row_bytes, c, v);
      uint o = p.dst_off + i * p.n_embd + c * 32u;
      for (uint l = 0u; l < 32u; ++l) D[o + l] = ok ? v[l] : 0.0;
    }
  }
}
