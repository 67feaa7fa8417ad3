#version 450
// Flash-style attention, one workgroup per (head, query): keys are scored a tile
// of WG at a time (one key per thread), then an online softmax (running max m
// and sum l) rescales the accumulated output. K/V are F16 or F32 (K_F16 / V_F16).
#include "common.glsl"
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer QB { float Q[]; };
layout(std430, binding = 1) readonly buffer KB { uint K[]; };
layout(std430, binding = 2) readonly buffer VB { uint V[]; };
layout(std430, binding = 3) writeonly buffer OB { float O[]; };
layout(push_constant) uniform P {
  uint q_off, out_off, q_stride, out_stride, n_q, n_head, n_head_kv, dk, dv, n_kv, q_pos0, causal;
  float scale;
  uint k_off, k_pos, k_head, v_off, v_pos, v_head;  // bytes
} p;

#define MAX_DK 576u
#define MAX_DV_PER_THREAD 8u
shared float qs[MAX_DK];
shared float ps[WG];

// Values d and d+1 (d even) of a cache row starting at byte b.
vec2 kpair(uint b, uint d) {
#ifdef K_F16
  return unpackHalf2x16(K[(b >> 2) + d / 2u]);
#else
  return vec2(uintBitsToFloat(K[(b >> 2) + d]), uintBitsToFloat(K[(b >> 2) + d + 1u]));
#endif
}
float vval(uint b, uint d) {
#ifdef V_F16
  vec2 h = unpackHalf2x16(V[(b >> 2) + d / 2u]);
  return (d & 1u) == 0u ? h.x : h.y;
#else
  return uintBitsToFloat(V[(b >> 2) + d]);
#endif
}

void main() {
  uint tid = gl_LocalInvocationID.x;
  uint h = gl_WorkGroupID.x;
  uint hk = h / (p.n_head / p.n_head_kv);
  for (uint qi = gl_WorkGroupID.y; qi < p.n_q; qi += gl_NumWorkGroups.y) {
    uint qb = p.q_off + qi * p.q_stride + h * p.dk;
    for (uint d = tid; d < p.dk; d += WG) qs[d] = Q[qb + d];
    barrier();
    uint kv_end = p.n_kv;
    if (p.causal != 0u) kv_end = min(kv_end, p.q_pos0 + qi + 1u);
    float acc[MAX_DV_PER_THREAD];
    for (uint j = 0u; j < MAX_DV_PER_THREAD; ++j) acc[j] = 0.0;
    float m = -1.0 / 0.0, l = 0.0;
    for (uint t0 = 0u; t0 < kv_end; t0 += WG) {
      uint key = t0 + tid;
      float s = -1.0 / 0.0;
      if (key < kv_end) {
        uint kb = p.k_off + key * p.k_pos + hk * p.k_head;
        s = 0.0;
        for (uint d = 0u; d < p.dk; d += 2u) {
          vec2 kv = kpair(kb, d);
          s += qs[d] * kv.x + qs[d + 1u] * kv.y;
        }
        s *= p.scale;
      }
      ps[tid] = s;
      barrier();
      float tm = m;
      uint n_in = min(WG, kv_end - t0);
      for (uint j = 0u; j < n_in; ++j) tm = max(tm, ps[j]);
      float corr = exp(m - tm);  // m = -inf on the first tile: corr = 0, acc is 0 anyway
      l *= corr;
      for (uint j = 0u; j < MAX_DV_PER_THREAD; ++j) acc[j] *= corr;
      for (uint j = 0u; j < n_in; ++j) {
        float pj = exp(ps[j] - tm);
        l += pj;
        uint vb = p.v_off + (t0 + j) * p.v_pos + hk * p.v_head;
        for (uint e = 0u; e < MAX_DV_PER_THREAD; ++e) {
          uint d = tid + e * WG;
          if (d < p.dv) acc[e] += pj * vval(vb, d);
        }
      }
      m = tm;
      barrier();
    }
    uint ob = p.out_off + qi * p.out_stride + h * p.dv;
    float inv = l > 0.0 ? 1.0 / l : 0.0;
    for (uint e = 0u; e < MAX_DV_PER_THREAD; ++e) {
      uint d = tid + e * WG;
      if (d < p.dv) O[ob + d] = acc[e] * inv;
    }
    barrier();
  }
}
