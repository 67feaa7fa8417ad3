// Dequantization of one 32-element chunk of a row, per weight type. The row
// starts at byte `row` of buffer W; chunk c holds elements 32c .. 32c+31.
// Block layouts: docs/dev/kernels.md and the GGUF reference.

#if defined(TYPE_F32)
void dequant_chunk(uint row, uint c, out float v[32]) {
  uint w0 = (row >> 2) + c * 32u;
  for (uint i = 0u; i < 32u; ++i) v[i] = uintBitsToFloat(W[w0 + i]);
}
#elif defined(TYPE_F16)
void dequant_chunk(uint row, uint c, out float v[32]) {
  uint w0 = (row >> 2) + c * 16u;
  for (uint i = 0u; i < 16u; ++i) {
    vec2 h = unpackHalf2x16(W[w0 + i]);
    v[2u * i] = h.x;
    v[2u * i + 1u] = h.y;
  }
}
#elif defined(TYPE_BF16)
void dequant_chunk(uint row, uint c, out float v[32]) {
  uint w0 = (row >> 2) + c * 16u;
  for (uint i = 0u; i < 16u; ++i) {
    uint u = W[w0 + i];
    v[2u * i] = uintBitsToFloat(u << 16);
    v[2u * i + 1u] = uintBitsToFloat(u & 0xFFFF0000u);
  }
}
#elif defined(TYPE_Q8_0)
void dequant_chunk(uint row, uint c, out float v[32]) {
  uint b = row + c * 34u;
  float d = rdh(b);
  for (uint i = 0u; i < 32u; ++i) v[i] = d * float(rds8(b + 2u + i));
}
#elif defined(TYPE_Q4_0)
void dequant_chunk(uint row, uint c, out float v[32]) {
  uint b = row + c * 18u;
  float d = rdh(b);
  for (uint j = 0u; j < 16u; ++j) {
    uint q = rd8(b + 2u + j);
    v[j] = d * (float(q & 15u) - 8.0);
    v[j + 16u] = d * (float(q >> 4) - 8.0);
  }
}
#elif defined(TYPE_Q4_K) || defined(TYPE_Q5_K)
// 6-bit scale and min of sub-block j from the 12 scale bytes at s.
void scale_min_k4(uint s, uint j, out float sc, out float m) {
  if (j < 4u) {
    sc = float(rd8(s + j) & 63u);
    m = float(rd8(s + j + 4u) & 63u);
  } else {
    sc = float((rd8(s + j + 4u) & 15u) | ((rd8(s + j - 4u) >> 6) << 4));
    m = float((rd8(s + j + 4u) >> 4) | ((rd8(s + j) >> 6) << 4));
  }
}
#if defined(TYPE_Q4_K)
void dequant_chunk(uint row, uint c, out float v[32]) {
  uint b = row + (c >> 3) * 144u, sub = c & 7u;
  float sc, m;
  scale_min_k4(b + 4u, sub, sc, m);
  float d = rdh(b) * sc, dm = rdh(b + 2u) * m;
  uint qs = b + 16u + 32u * (sub >> 1), sh = 4u * (sub & 1u);
  for (uint l = 0u; l < 32u; ++l) v[l] = d * float((rd8(qs + l) >> sh) & 15u) - dm;
}
#else
void dequant_chunk(uint row, uint c, out float v[32]) {
  uint b = row + (c >> 3) * 176u, sub = c & 7u;
  float sc, m;
  scale_min_k4(b + 4u, sub, sc, m);
  float d = rdh(b) * sc, dm = rdh(b + 2u) * m;
  uint qh = b + 16u, qs = b + 48u + 32u * (sub >> 1), sh = 4u * (sub & 1u);
  for (uint l = 0u; l < 32u; ++l) {
    uint q = ((rd8(qs + l) >> sh) & 15u) | (((rd8(qh + l) >> sub) & 1u) << 4);
    v[l] = d * float(q) - dm;
  }
}
#endif
#elif defined(TYPE_Q6_K)
void dequant_chunk(uint row, uint c, out float v[32]) {
  uint b = row + (c >> 3) * 210u, sub = c & 7u;
  uint half_ = sub >> 2, k = sub & 3u;
  uint ql = b + 64u * half_ + (k & 1u) * 32u, qh = b + 128u + 32u * half_;
  uint shl = (k >= 2u) ? 4u : 0u, shh = 2u * k;
  float d = rdh(b + 208u);
  uint s = b + 192u + 8u * half_ + 2u * k;
  float d0 = d * float(rds8(s)), d1 = d * float(rds8(s + 1u));
  for (uint l = 0u; l < 32u; ++l) {
    int q = int(((rd8(ql + l) >> shl) & 15u) | (((rd8(qh + l) >> shh) & 3u) << 4)) - 32;
    v[l] = (l < 16u ? d0 : d1) * float(q);
  }
}
#else
#error "no TYPE_ defined"
#endif
