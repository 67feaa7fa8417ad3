// The vector-math kernels written once over a small vector type V, compiled per
// ISA by vec_ops_scalar.cpp, vec_ops_avx2.cpp and vec_ops_avx512.cpp. Everything
// here is a template in an anonymous namespace: each ISA file gets its own copy,
// and no code built with wide instructions can be shared with a baseline caller.
//
// V provides: vf (the vector), W (lanes), load, store, set1, bcast(const float*),
// add, sub, mul, div, fma(a, b, c) = a·b + c, max, exp, hsum, hmax,
// hide(s, vis, j) (lanes whose vis <= j become -inf) and finite_or_zero(m)
// (-inf lanes become 0). SIMD types implement exp with exp_poly below, from
// min, max (x86 operand order: the second operand is returned when one is
// NaN), round (to nearest even) and times_pow2(p, n) = p·2^n for an integral n.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "vec_ops.h"

namespace r1::kernels::detail {
namespace {

constexpr float k_neg_inf = -__builtin_inff();

// e^x: x = n·ln2 + r with |r| <= ln2/2 (Cody-Waite, two-part ln2), e^r by its
// degree-7 Taylor polynomial (truncation < 0.05 ulp), 2^n applied by the type
// (as two factors, so results down to the subnormals are right). x is clamped
// to [-104, 89], beyond which e^x is 0 / inf in float; NaN stays NaN.
template <class V>
inline typename V::vf exp_poly(typename V::vf x) {
  using vf = typename V::vf;
  x = V::min(V::set1(89.0f), V::max(V::set1(-104.0f), x));
  const vf n = V::round(V::mul(x, V::set1(1.44269504088896341f)));
  vf r = V::fma(n, V::set1(-0.693359375f), x);
  r = V::fma(n, V::set1(2.12194440e-4f), r);
  vf p = V::set1(1.0f / 5040.0f);
  p = V::fma(p, r, V::set1(1.0f / 720.0f));
  p = V::fma(p, r, V::set1(1.0f / 120.0f));
  p = V::fma(p, r, V::set1(1.0f / 24.0f));
  p = V::fma(p, r, V::set1(1.0f / 6.0f));
  p = V::fma(p, r, V::set1(0.5f));
  p = V::fma(p, r, V::set1(1.0f));
  p = V::fma(p, r, V::set1(1.0f));
  return V::times_pow2(p, n);
}

template <class V>
inline typename V::vf load_part(const float* p, int64_t n, float fill) {
  alignas(64) float buf[V::W];
  for (int i = 0; i < V::W; ++i) buf[i] = i < n ? p[i] : fill;
  return V::load(buf);
}

template <class V>
inline void store_part(float* p, typename V::vf v, int64_t n) {
  alignas(64) float buf[V::W];
  V::store(buf, v);
  for (int64_t i = 0; i < n; ++i) p[i] = buf[i];
}

template <class V>
void exp_row(const float* x, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + V::W <= n; i += V::W) V::store(dst + i, V::exp(V::load(x + i)));
  if (i < n) store_part<V>(dst + i, V::exp(load_part<V>(x + i, n - i, 0.0f)), n - i);
}

// x / (1 + e^-x), the same expression as the scalar definition.
template <class V>
inline typename V::vf silu_vec(typename V::vf x) {
  const typename V::vf one = V::set1(1.0f);
  return V::div(x, V::add(one, V::exp(V::sub(V::set1(0.0f), x))));
}

template <class V>
void silu_row(const float* x, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + V::W <= n; i += V::W) V::store(dst + i, silu_vec<V>(V::load(x + i)));
  if (i < n) store_part<V>(dst + i, silu_vec<V>(load_part<V>(x + i, n - i, 0.0f)), n - i);
}

template <class V>
void swiglu_row(const float* gate, const float* up, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + V::W <= n; i += V::W) V::store(dst + i, V::mul(silu_vec<V>(V::load(gate + i)), V::load(up + i)));
  if (i < n) {
    const auto g = load_part<V>(gate + i, n - i, 0.0f), u = load_part<V>(up + i, n - i, 0.0f);
    store_part<V>(dst + i, V::mul(silu_vec<V>(g), u), n - i);
  }
}

// Scaled, max-subtracted softmax; partial sums of up to 4 vectors in float are
// added in double, so the sum keeps double precision over long rows.
template <class V>
void softmax_row(float* x, int64_t n, float scale) {
  using vf = typename V::vf;
  const vf sc = V::set1(scale);
  vf mx = V::set1(k_neg_inf);
  int64_t i = 0;
  for (; i + V::W <= n; i += V::W) {
    const vf v = V::mul(V::load(x + i), sc);
    V::store(x + i, v);
    mx = V::max(mx, v);
  }
  if (i < n) {
    const vf v = V::mul(load_part<V>(x + i, n - i, k_neg_inf), sc);
    store_part<V>(x + i, v, n - i);
    mx = V::max(mx, v);
  }
  const float m = V::hmax(mx);
  if (m == k_neg_inf) {
    for (int64_t j = 0; j < n; ++j) x[j] = 0.0f;
    return;
  }
  const vf mv = V::set1(m);
  double sum = 0;
  i = 0;
  while (i + V::W <= n) {
    vf acc = V::set1(0.0f);
    for (int k = 0; k < 4 && i + V::W <= n; ++k, i += V::W) {
      const vf e = V::exp(V::sub(V::load(x + i), mv));
      V::store(x + i, e);
      acc = V::add(acc, e);
    }
    sum += static_cast<double>(V::hsum(acc));
  }
  if (i < n) {
    const vf e = V::exp(V::sub(load_part<V>(x + i, n - i, k_neg_inf), mv));
    store_part<V>(x + i, e, n - i);
    sum += static_cast<double>(V::hsum(e));
  }
  const vf inv = V::set1(static_cast<float>(1.0 / sum));
  i = 0;
  for (; i + V::W <= n; i += V::W) V::store(x + i, V::mul(V::load(x + i), inv));
  for (; i < n; ++i) x[i] *= static_cast<float>(1.0 / sum);
}

// ---- flash attention ------------------------------------------------------

// Scores of RB row vectors × KB keys: s[k * rows_pad + r] = scale · Σ_d q[r][d] k[k][d].
// Every score is one FMA chain over d in order, whatever block it falls in.
template <class V, int RB, int KB>
inline void score_block(const float* qt, int rows_pad, int r0, const uint8_t* k, size_t ks, int dk, float scale,
                        float* s) {
  using vf = typename V::vf;
  vf acc[RB][KB];
  const float* kr[KB];
  for (int kk = 0; kk < KB; ++kk) {
    kr[kk] = reinterpret_cast<const float*>(k + static_cast<size_t>(kk) * ks);
    for (int b = 0; b < RB; ++b) acc[b][kk] = V::set1(0.0f);
  }
  for (int d = 0; d < dk; ++d) {
    const float* q = qt + static_cast<size_t>(d) * rows_pad + r0;
    vf qv[RB];
    for (int b = 0; b < RB; ++b) qv[b] = V::load(q + b * V::W);
    for (int kk = 0; kk < KB; ++kk) {
      const vf kb = V::bcast(kr[kk] + d);
      for (int b = 0; b < RB; ++b) acc[b][kk] = V::fma(qv[b], kb, acc[b][kk]);
    }
  }
  const vf sc = V::set1(scale);
  for (int kk = 0; kk < KB; ++kk)
    for (int b = 0; b < RB; ++b) V::store(s + static_cast<size_t>(kk) * rows_pad + r0 + b * V::W, V::mul(acc[b][kk], sc));
}

template <class V, int RB, int KB>
inline void score_rows(const float* qt, int rows_pad, int r0, const uint8_t* k, size_t ks, int nt, int dk,
                       float scale, float* s) {
  int j = 0;
  for (; j + KB <= nt; j += KB)
    score_block<V, RB, KB>(qt, rows_pad, r0, k + static_cast<size_t>(j) * ks, ks, dk, scale, s + static_cast<size_t>(j) * rows_pad);
  for (; j < nt; ++j)
    score_block<V, RB, 1>(qt, rows_pad, r0, k + static_cast<size_t>(j) * ks, ks, dk, scale, s + static_cast<size_t>(j) * rows_pad);
}

template <class V>
void score_tile(const float* qt, int rows_pad, const uint8_t* k, size_t ks, int nt, int dk, float scale, float* s) {
  constexpr int rb = V::score_row_vectors, kb = V::score_keys;
  const int n_vec = rows_pad / V::W;
  if (n_vec == 1) {
    // Decode of a small group: one row vector, twice the keys per pass.
    score_rows<V, 1, 2 * kb>(qt, rows_pad, 0, k, ks, nt, dk, scale, s);
    return;
  }
  int b = 0;
  for (; b + rb <= n_vec; b += rb) score_rows<V, rb, kb>(qt, rows_pad, b * V::W, k, ks, nt, dk, scale, s);
  for (; b < n_vec; ++b) score_rows<V, 1, kb>(qt, rows_pad, b * V::W, k, ks, nt, dk, scale, s);
}

// A decode's query rows (one KV head's query heads) fill at most half a vector, so
// score_pairs puts two keys in one instead: lane 2r + i is row r against key j + i.
// The tile's keys are laid out in pairs (kp[(j/2)·2·dk + 2d + j%2]) and the rows
// duplicated (q2[d·W + 2r + i] = q[r][d]), so a 64-bit broadcast and one FMA advance
// two keys: half score_tile's FMAs for the 6 rows of a 1.5B decode. Each score is
// still one FMA chain over d in order, then the scale: the bits of score_tile.
template <class V>
concept has_key_pairs = requires(const float* p, typename V::vf a, typename V::vf& r) {
  V::bcast_pair(p);
  V::dup_rows(a);
  V::interleave_pairs(a, a, r, r);
  V::split_pairs(a, r, r);
  V::load_f16(static_cast<const uint16_t*>(nullptr));
};

// Keys t0 .. t0+nt in pairs (a zero key after an odd last one); tmp: 2·dk floats.
// F16 rows whole vectors long are widened in registers on the way, others converted
// into tmp first.
template <class V>
void key_pairs_f32(const uint8_t* data, size_t stride, row_to_f32_fn conv, bool f16, int64_t t0, int nt, int dk,
                   float* tmp, float* kp) {
  using vf = typename V::vf;
  const bool in_registers = f16 && dk % V::W == 0;
  for (int j = 0; j < nt; j += 2) {
    const uint8_t* rows[2] = {data + static_cast<size_t>(t0 + j) * stride, data + static_cast<size_t>(t0 + j + 1) * stride};
    const float* f[2] = {tmp, tmp + dk};
    for (int i = 0; i < 2 && !in_registers; ++i) {
      if (j + i == nt) std::fill(tmp + dk, tmp + 2 * dk, 0.0f);
      else if (conv) conv(rows[i], tmp + i * dk, dk);
      else f[i] = reinterpret_cast<const float*>(rows[i]);
    }
    auto load = [&](int i, int d) {
      if (!in_registers) return V::load(f[i] + d);
      return j + i < nt ? V::load_f16(reinterpret_cast<const uint16_t*>(rows[i]) + d) : V::set1(0.0f);
    };
    float* out = kp + static_cast<size_t>(j) * dk;
    int d = 0;
    for (; d + V::W <= dk; d += V::W) {
      vf lo, hi;
      V::interleave_pairs(load(0, d), load(1, d), lo, hi);
      V::store(out + 2 * d, lo);
      V::store(out + 2 * d + V::W, hi);
    }
    for (; d < dk; ++d) {  // only when converted into tmp (in_registers needs whole vectors)
      out[2 * d] = f[0][d];
      out[2 * d + 1] = f[1][d];
    }
  }
}

// Scores of KP key pairs (`keys` of them real) into s, rows_pad = W.
template <class V, int KP>
inline void score_pair_block(const float* q2, const float* kp, int dk, float scale, float* s, int keys) {
  using vf = typename V::vf;
  vf acc[KP];
  for (int p = 0; p < KP; ++p) acc[p] = V::set1(0.0f);
  for (int d = 0; d < dk; ++d) {
    const vf qv = V::load(q2 + static_cast<size_t>(d) * V::W);
    for (int p = 0; p < KP; ++p) acc[p] = V::fma(qv, V::bcast_pair(kp + static_cast<size_t>(p) * 2 * dk + 2 * d), acc[p]);
  }
  const vf sc = V::set1(scale);
  for (int p = 0; p < KP; ++p) {
    vf first, second;
    V::split_pairs(V::mul(acc[p], sc), first, second);
    V::store(s + static_cast<size_t>(2 * p) * V::W, first);
    if (2 * p + 1 < keys) V::store(s + static_cast<size_t>(2 * p + 1) * V::W, second);
  }
}

template <class V>
void score_pairs(const float* q2, const float* kp, int nt, int dk, float scale, float* s) {
  constexpr int kp_block = 8;  // eight accumulators, as score_tile's decode case
  int j = 0;
  for (; j + 2 * kp_block <= nt; j += 2 * kp_block)
    score_pair_block<V, kp_block>(q2, kp + static_cast<size_t>(j) * dk, dk, scale, s + static_cast<size_t>(j) * V::W, 2 * kp_block);
  for (; j < nt; j += 2)
    score_pair_block<V, 1>(q2, kp + static_cast<size_t>(j) * dk, dk, scale, s + static_cast<size_t>(j) * V::W, nt - j);
}

// Online softmax over one tile of scores (keys t0 .. t0+nt): hides invisible
// keys, updates m and l, turns the scores into e^(s - m) in place and leaves in
// f the factor by which each row's earlier accumulator must be scaled.
template <class V>
void softmax_tile(float* s, int rows_pad, int nt, int64_t t0, int64_t min_vis, const int32_t* vis_end, float* m,
                  float* l, float* f) {
  using vf = typename V::vf;
  for (int r = 0; r < rows_pad; r += V::W) {
    const vf m_old = V::load(m + r);
    vf tmax = V::set1(k_neg_inf);
    for (int j = 0; j < nt; ++j) {
      float* sp = s + static_cast<size_t>(j) * rows_pad + r;
      vf x = V::load(sp);
      if (t0 + j >= min_vis) {
        x = V::hide(x, vis_end + r, static_cast<int32_t>(t0 + j));
        V::store(sp, x);
      }
      tmax = V::max(tmax, x);
    }
    const vf m_new = V::max(m_old, tmax);
    const vf m_sub = V::finite_or_zero(m_new);  // a row with no visible key yet keeps p = 0
    vf sum = V::set1(0.0f);
    for (int j = 0; j < nt; ++j) {
      float* sp = s + static_cast<size_t>(j) * rows_pad + r;
      const vf p = V::exp(V::sub(V::load(sp), m_sub));
      V::store(sp, p);
      sum = V::add(sum, p);
    }
    const vf fr = V::exp(V::sub(m_old, m_sub));
    V::store(l + r, V::fma(V::load(l + r), fr, sum));
    V::store(m + r, m_new);
    V::store(f + r, fr);
  }
}

template <class V>
void rescale_rows(float* o, int rows, int dv, const float* f) {
  for (int r = 0; r < rows; ++r) {
    if (f[r] == 1.0f) continue;
    float* row = o + static_cast<size_t>(r) * dv;
    const typename V::vf fv = V::set1(f[r]);
    int d = 0;
    for (; d + V::W <= dv; d += V::W) V::store(row + d, V::mul(V::load(row + d), fv));
    for (; d < dv; ++d) row[d] *= f[r];
  }
}

// o[r][d0 .. d0 + DB·W) += Σ_j p[j][r] v[j][..] for rows r0 .. r0+RR; F16: the V rows
// are F16, converted in registers.
template <class V, int RR, int DB, bool F16 = false>
inline void pv_block(const float* s, int rows_pad, int r0, const uint8_t* v, size_t vs, int nt, float* o, int dv,
                     int d0) {
  using vf = typename V::vf;
  vf acc[RR][DB];
  for (int rr = 0; rr < RR; ++rr)
    for (int b = 0; b < DB; ++b) acc[rr][b] = V::load(o + static_cast<size_t>(r0 + rr) * dv + d0 + b * V::W);
  for (int j = 0; j < nt; ++j) {
    vf vv[DB];
    if constexpr (F16) {
      const uint16_t* vr = reinterpret_cast<const uint16_t*>(v + static_cast<size_t>(j) * vs) + d0;
      for (int b = 0; b < DB; ++b) vv[b] = V::load_f16(vr + b * V::W);
    } else {
      const float* vr = reinterpret_cast<const float*>(v + static_cast<size_t>(j) * vs) + d0;
      for (int b = 0; b < DB; ++b) vv[b] = V::load(vr + b * V::W);
    }
    const float* p = s + static_cast<size_t>(j) * rows_pad + r0;
    for (int rr = 0; rr < RR; ++rr) {
      const vf pb = V::bcast(p + rr);
      for (int b = 0; b < DB; ++b) acc[rr][b] = V::fma(pb, vv[b], acc[rr][b]);
    }
  }
  for (int rr = 0; rr < RR; ++rr)
    for (int b = 0; b < DB; ++b) V::store(o + static_cast<size_t>(r0 + rr) * dv + d0 + b * V::W, acc[rr][b]);
}

// Rows r0 .. r0+RR; dims in blocks of DB vectors, then single vectors, then a scalar
// tail. F16: the rows are F16, read in place (dv a multiple of DB vectors).
template <class V, int RR, bool F16>
void pv_rows(const float* s, int rows_pad, int r0, const uint8_t* v, size_t vs, int nt, float* o, int dv) {
  constexpr int db = V::pv_vectors;
  int d0 = 0;
  for (; d0 + db * V::W <= dv; d0 += db * V::W) pv_block<V, RR, db, F16>(s, rows_pad, r0, v, vs, nt, o, dv, d0);
  if constexpr (!F16) {
    for (; d0 + V::W <= dv; d0 += V::W) pv_block<V, RR, 1>(s, rows_pad, r0, v, vs, nt, o, dv, d0);
    for (; d0 < dv; ++d0) {
      for (int rr = 0; rr < RR; ++rr) {
        float acc = o[static_cast<size_t>(r0 + rr) * dv + d0];
        for (int j = 0; j < nt; ++j)
          acc += s[static_cast<size_t>(j) * rows_pad + r0 + rr] * reinterpret_cast<const float*>(v + static_cast<size_t>(j) * vs)[d0];
        o[static_cast<size_t>(r0 + rr) * dv + d0] = acc;
      }
    }
  }
}

// The real rows in groups of 4, then 2, then 1 (a 6-row decode no longer computes two
// padding rows). Each output is the same FMA chain over the keys whatever its group.
template <class V, bool F16 = false>
void pv_tile(const float* s, int rows_pad, int rows, const uint8_t* v, size_t vs, int nt, float* o, int dv) {
  int r0 = 0;
  for (; r0 + 4 <= rows; r0 += 4) pv_rows<V, 4, F16>(s, rows_pad, r0, v, vs, nt, o, dv);
  if (r0 + 2 <= rows) {
    pv_rows<V, 2, F16>(s, rows_pad, r0, v, vs, nt, o, dv);
    r0 += 2;
  }
  if (r0 < rows) pv_rows<V, 1, F16>(s, rows_pad, r0, v, vs, nt, o, dv);
}

// Cache rows t0 .. t0+nt as F32: in place when the cache is F32, else converted
// into buf. Returns the first row; *stride receives the row stride in bytes.
inline const uint8_t* f32_rows(const uint8_t* data, size_t stride, row_to_f32_fn conv, int64_t t0, int nt, int n,
                               float* buf, size_t* out_stride) {
  const uint8_t* first = data + static_cast<size_t>(t0) * stride;
  if (!conv) {
    *out_stride = stride;
    return first;
  }
  for (int j = 0; j < nt; ++j) conv(first + static_cast<size_t>(j) * stride, buf + static_cast<size_t>(j) * n, n);
  *out_stride = static_cast<size_t>(n) * sizeof(float);
  return reinterpret_cast<const uint8_t*>(buf);
}

// Asks for the cache rows t0 .. t0+nt (row_bytes each, `stride` apart) into L2. A decode's
// cache rows were written a token ago and have since been evicted by the weights, and the
// hardware streamer runs only a few lines ahead and stands still while a tile computes: asked
// for one tile ahead, the next tile's rows arrive during this one's arithmetic.
inline void prefetch_rows(const uint8_t* data, size_t stride, size_t row_bytes, int64_t t0, int64_t nt) {
  for (int64_t j = 0; j < nt; ++j) {
    const char* row = reinterpret_cast<const char*>(data + static_cast<size_t>(t0 + j) * stride);
    for (size_t b = 0; b < row_bytes; b += 64) __builtin_prefetch(row + b, 0, 2);  // prefetcht1
  }
}

template <class V>
void attn_run(const attn_task& t) {
  const int rp = t.rows_pad;
  const int rows4 = (t.rows + 3) / 4 * 4;
  float* s = t.work;
  float* kbuf = s + static_cast<size_t>(k_attn_tile) * rp;
  float* vbuf = kbuf + static_cast<size_t>(k_attn_tile) * t.dk;
  float* f = vbuf + static_cast<size_t>(k_attn_tile) * t.dv;
  float* q2 = f + rp;                            // key pairs: the duplicated query rows
  float* pair_tmp = q2 + static_cast<size_t>(rp) * t.dk;  // key pairs: two F32 key rows
  [[maybe_unused]] bool pairs = false;
  if constexpr (has_key_pairs<V>) {
    pairs = rp == V::W && 2 * t.rows <= V::W;
    if (pairs)
      for (int d = 0; d < t.dk; ++d) V::store(q2 + static_cast<size_t>(d) * V::W, V::dup_rows(V::load(t.qt + static_cast<size_t>(d) * rp)));
  }
  // Keys below min_vis are visible to every real row: no mask needed there.
  int64_t min_vis = t.j1;
  for (int r = 0; r < t.rows; ++r) min_vis = t.vis_end[r] < min_vis ? t.vis_end[r] : min_vis;
  auto tile_rows = [&](int64_t t0) { return static_cast<int>(t.j1 - t0 < k_attn_tile ? t.j1 - t0 : k_attn_tile); };
  auto prefetch_tile = [&](int64_t t0) {
    if (t0 >= t.j1) return;
    prefetch_rows(t.k_data, t.k_stride, t.k_row_bytes, t0, tile_rows(t0));
    prefetch_rows(t.v_data, t.v_stride, t.v_row_bytes, t0, tile_rows(t0));
  };
  prefetch_tile(t.j0);
  for (int64_t t0 = t.j0; t0 < t.j1; t0 += k_attn_tile) {
    const int nt = tile_rows(t0);
    prefetch_tile(t0 + k_attn_tile);
    size_t ks = 0, vs = 0;
    bool scored = false;
    if constexpr (has_key_pairs<V>) {
      if (pairs) {
        key_pairs_f32<V>(t.k_data, t.k_stride, t.k_to_f32, t.k_f16, t0, nt, t.dk, pair_tmp, kbuf);
        score_pairs<V>(q2, kbuf, nt, t.dk, t.scale, s);
        scored = true;
      }
    }
    if (!scored) {
      const uint8_t* k = f32_rows(t.k_data, t.k_stride, t.k_to_f32, t0, nt, t.dk, kbuf, &ks);
      score_tile<V>(t.qt, rp, k, ks, nt, t.dk, t.scale, s);
    }
    softmax_tile<V>(s, rp, nt, t0, min_vis, t.vis_end, t.m, t.l, f);
    rescale_rows<V>(t.o, rows4, t.dv, f);
    bool summed = false;
    if constexpr (has_key_pairs<V>) {
      // Decode: F16 V rows read in place (a prompt tile's rows are reused by many more
      // query rows, so it converts them once).
      if (pairs && t.v_f16 && t.dv % (V::pv_vectors * V::W) == 0) {
        pv_tile<V, true>(s, rp, t.rows, t.v_data + static_cast<size_t>(t0) * t.v_stride, t.v_stride, nt, t.o, t.dv);
        summed = true;
      }
    }
    if (!summed) {
      const uint8_t* v = f32_rows(t.v_data, t.v_stride, t.v_to_f32, t0, nt, t.dv, vbuf, &vs);
      pv_tile<V>(s, rp, t.rows, v, vs, nt, t.o, t.dv);
    }
  }
}

template <class V>
constexpr vec_ops_table make_vec_ops() {
  return vec_ops_table{V::W, exp_row<V>, silu_row<V>, swiglu_row<V>, softmax_row<V>, attn_run<V>};
}

}  // namespace
}  // namespace r1::kernels::detail
