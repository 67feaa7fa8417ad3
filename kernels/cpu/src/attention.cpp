// Flash-style attention: per (query, head) task, keys in tiles of k_tile with an
// online softmax, V accumulated in F32. Q is converted once per task to the K
// type's dot format so K·Q uses the same dot kernels as matmul.
#include "r1/kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "blocks.h"
#include "r1/base/assert.h"
#include "r1/kernels/ops.h"
#include "r1/kernels/quants.h"

namespace r1::kernels {
namespace {

constexpr int k_tile = 64;
constexpr int k_max_head_dim = 1024;

bool kv_type_ok(tensor_type t) {
  return t == tensor_type::f32 || t == tensor_type::f16 || t == tensor_type::q8_0;
}

// acc += p * V row (head_dim_v values of type t).
void accumulate_v(tensor_type t, const void* row, float p, float* acc, int n, float* tmp) {
  if (t == tensor_type::f32) {
    add_scaled(static_cast<const float*>(row), p, acc, n);
    return;
  }
  if (t == tensor_type::f16) convert_f16_to_f32(static_cast<const uint16_t*>(row), tmp, n);
  else (void)dequantize_row(t, row, tmp, n);
  add_scaled(tmp, p, acc, n);
}

void attend_one(const attention_args& a, int64_t qi, int h, detail::dot_fn dot) {
  const int group = a.n_head / a.n_head_kv;
  const int hk = h / group;
  const float* q = a.q + qi * a.q_stride + static_cast<int64_t>(h) * a.head_dim_k;
  float* out = a.out + qi * a.out_stride + static_cast<int64_t>(h) * a.head_dim_v;
  int64_t n_vis = a.n_kv;
  if (a.causal) n_vis = std::min(a.n_kv, a.q_pos0 + qi + 1);

  alignas(64) uint8_t q_conv[k_max_head_dim * 4];
  const void* qk = q;
  if (a.k.type != tensor_type::f32) {
    const tensor_type vt = vec_dot_type(a.k.type);
    (void)quantize_row(vt, q, q_conv, a.head_dim_k);
    qk = q_conv;
  }
  alignas(64) float acc[k_max_head_dim];
  alignas(64) float tmp[k_max_head_dim];
  float scores[k_tile];
  std::fill(acc, acc + a.head_dim_v, 0.0f);
  float running_max = -INFINITY;
  double running_sum = 0;
  const auto* kbase = static_cast<const uint8_t*>(a.k.data) + static_cast<size_t>(hk) * a.k.head_stride_bytes;
  const auto* vbase = static_cast<const uint8_t*>(a.v.data) + static_cast<size_t>(hk) * a.v.head_stride_bytes;
  for (int64_t j0 = 0; j0 < n_vis; j0 += k_tile) {
    const int n = static_cast<int>(std::min<int64_t>(k_tile, n_vis - j0));
    float tile_max = -INFINITY;
    for (int j = 0; j < n; ++j) {
      const void* krow = kbase + static_cast<size_t>(j0 + j) * a.k.pos_stride_bytes;
      scores[j] = dot(a.head_dim_k, krow, qk) * a.scale;
      tile_max = std::fmax(tile_max, scores[j]);
    }
    if (tile_max > running_max) {
      // Rescale what was accumulated under the old maximum.
      const float f = running_max == -INFINITY ? 0.0f : std::exp(running_max - tile_max);
      for (int d = 0; d < a.head_dim_v; ++d) acc[d] *= f;
      running_sum *= f;
      running_max = tile_max;
    }
    if (running_max == -INFINITY) continue;
    for (int j = 0; j < n; ++j) {
      const float p = std::exp(scores[j] - running_max);
      if (p == 0.0f) continue;
      running_sum += p;
      const void* vrow = vbase + static_cast<size_t>(j0 + j) * a.v.pos_stride_bytes;
      accumulate_v(a.v.type, vrow, p, acc, a.head_dim_v, tmp);
    }
  }
  const float inv = running_sum > 0 ? static_cast<float>(1.0 / running_sum) : 0.0f;
  for (int d = 0; d < a.head_dim_v; ++d) out[d] = acc[d] * inv;
}

}  // namespace

void attention(const attention_args& a, thread_pool& pool) {
  R1_ASSERT(a.n_head > 0 && a.n_head_kv > 0 && a.n_head % a.n_head_kv == 0);
  R1_ASSERT(a.head_dim_k > 0 && a.head_dim_k <= k_max_head_dim);
  R1_ASSERT(a.head_dim_v > 0 && a.head_dim_v <= k_max_head_dim);
  R1_ASSERT(kv_type_ok(a.k.type) && kv_type_ok(a.v.type));
  R1_ASSERT(a.k.type != tensor_type::q8_0 || a.head_dim_k % 32 == 0);
  R1_ASSERT(a.v.type != tensor_type::q8_0 || a.head_dim_v % 32 == 0);
  if (a.n_q <= 0) return;
  const detail::dot_fn dot = detail::active_dot(static_cast<int>(a.k.type));
  const int64_t n_tasks = a.n_q * a.n_head;
  pool.run(static_cast<int>(n_tasks), [&](int task, int) {
    attend_one(a, task / a.n_head, task % a.n_head, dot);
  });
}

}  // namespace r1::kernels
