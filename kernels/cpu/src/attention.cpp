// Flash-style attention. A task is (query, KV head, group of ≤ 8 query heads
// sharing that KV head, range of keys): each K and V row is loaded once per task
// and used for every head of the group. Keys go in tiles of 64 with an online
// softmax (running max M, sum S, F32 accumulator). When there are few tasks
// (decode) and many keys, the key range is split into chunks whose partial
// (M, S, acc) are merged afterwards. The split depends only on the shapes, never
// on the thread count, so results are the same for any pool size.
#include "r1/kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "blocks.h"
#include "r1/base/assert.h"
#include "r1/kernels/ops.h"
#include "r1/kernels/quants.h"

namespace r1::kernels {
namespace {

constexpr int k_tile = 64;
constexpr int k_max_head_dim = 1024;
constexpr int k_max_group = 8;         // query heads per task
constexpr int64_t k_split_keys = 512;  // key chunk when the key range is split
constexpr int64_t k_split_below = 32;  // split only when there are fewer tasks than this

bool kv_type_ok(tensor_type t) {
  return t == tensor_type::f32 || t == tensor_type::f16 || t == tensor_type::q8_0;
}

struct task_shape {
  int group = 1;       // query heads per KV head
  int sub = 1;         // heads per task
  int n_sub = 1;       // tasks per KV head
  int64_t chunk = 0;   // keys per chunk
  int64_t n_chunks = 1;
};

// Running state of one head over some keys.
struct head_state {
  float m = -INFINITY;
  double s = 0;
  float* acc = nullptr;  // head_dim_v floats
};

class group_worker {
 public:
  group_worker(const attention_args& a, detail::dot_fn dot) : a_(a), dot_(dot) {}

  // Heads h0 .. h0+n-1 (sharing KV head hk) of query qi over keys [j0, j1).
  void run(int64_t qi, int hk, int h0, int n, int64_t j0, int64_t j1, head_state* st) {
    const auto* kbase = static_cast<const uint8_t*>(a_.k.data) + static_cast<size_t>(hk) * a_.k.head_stride_bytes;
    const auto* vbase = static_cast<const uint8_t*>(a_.v.data) + static_cast<size_t>(hk) * a_.v.head_stride_bytes;
    const void* qk[k_max_group];
    for (int g = 0; g < n; ++g) qk[g] = convert_query(qi, h0 + g, g);
    for (int64_t t0 = j0; t0 < j1; t0 += k_tile) {
      const int nt = static_cast<int>(std::min<int64_t>(k_tile, j1 - t0));
      for (int j = 0; j < nt; ++j) {
        const void* krow = kbase + static_cast<size_t>(t0 + j) * a_.k.pos_stride_bytes;
        for (int g = 0; g < n; ++g) scores_[g][j] = dot_(a_.head_dim_k, krow, qk[g]) * a_.scale;
      }
      for (int g = 0; g < n; ++g) rescale(st[g], scores_[g], nt);
      for (int j = 0; j < nt; ++j) {
        const void* vrow = vbase + static_cast<size_t>(t0 + j) * a_.v.pos_stride_bytes;
        const float* v = value_row(vrow);
        for (int g = 0; g < n; ++g) {
          if (st[g].m == -INFINITY) continue;
          const float p = std::exp(scores_[g][j] - st[g].m);
          if (p == 0.0f) continue;
          st[g].s += p;
          add_scaled(v, p, st[g].acc, a_.head_dim_v);
        }
      }
    }
  }

 private:
  const void* convert_query(int64_t qi, int h, int g) {
    const float* q = a_.q + qi * a_.q_stride + static_cast<int64_t>(h) * a_.head_dim_k;
    if (a_.k.type == tensor_type::f32) return q;
    (void)quantize_row(vec_dot_type(a_.k.type), q, q_conv_[g], a_.head_dim_k);
    return q_conv_[g];
  }

  // New tile maximum: rescale what was accumulated under the old one.
  void rescale(head_state& st, const float* s, int nt) {
    float tile_max = -INFINITY;
    for (int j = 0; j < nt; ++j) tile_max = std::fmax(tile_max, s[j]);
    if (tile_max <= st.m) return;
    const float f = st.m == -INFINITY ? 0.0f : std::exp(st.m - tile_max);
    for (int d = 0; d < a_.head_dim_v; ++d) st.acc[d] *= f;
    st.s *= f;
    st.m = tile_max;
  }

  const float* value_row(const void* row) {
    if (a_.v.type == tensor_type::f32) return static_cast<const float*>(row);
    if (a_.v.type == tensor_type::f16) convert_f16_to_f32(static_cast<const uint16_t*>(row), v_tmp_, a_.head_dim_v);
    else (void)dequantize_row(a_.v.type, row, v_tmp_, a_.head_dim_v);
    return v_tmp_;
  }

  const attention_args& a_;
  detail::dot_fn dot_;
  alignas(64) uint8_t q_conv_[k_max_group][k_max_head_dim * 2 + 64];
  alignas(64) float v_tmp_[k_max_head_dim];
  float scores_[k_max_group][k_tile];
};

task_shape plan(const attention_args& a) {
  task_shape t;
  t.group = a.n_head / a.n_head_kv;
  t.sub = std::min(t.group, k_max_group);
  t.n_sub = (t.group + t.sub - 1) / t.sub;
  t.chunk = std::max<int64_t>(a.n_kv, 1);
  const int64_t base_tasks = a.n_q * a.n_head_kv * t.n_sub;
  if (base_tasks < k_split_below && a.n_kv > 2 * k_split_keys) {
    t.chunk = k_split_keys;
    t.n_chunks = (a.n_kv + k_split_keys - 1) / k_split_keys;
  }
  return t;
}

// Merges chunk partials of one head into out (or writes zeros if no key was seen).
void merge(const head_state* parts, int64_t n_parts, int dv, float* out) {
  float m = -INFINITY;
  for (int64_t c = 0; c < n_parts; ++c) m = std::fmax(m, parts[c].m);
  double s = 0;
  std::fill(out, out + dv, 0.0f);
  if (m == -INFINITY) return;
  for (int64_t c = 0; c < n_parts; ++c) {
    if (parts[c].m == -INFINITY) continue;
    const float f = std::exp(parts[c].m - m);
    s += parts[c].s * f;
    add_scaled(parts[c].acc, f, out, dv);
  }
  scale(out, s > 0 ? static_cast<float>(1.0 / s) : 0.0f, out, dv);
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
  const task_shape t = plan(a);
  const int dv = a.head_dim_v;
  const bool split = t.n_chunks > 1;
  // One state per (query, head, chunk). Unsplit, the accumulator is the output row.
  const int64_t n_states = a.n_q * a.n_head * t.n_chunks;
  std::vector<head_state> states(static_cast<size_t>(n_states));
  std::vector<float> accs(split ? static_cast<size_t>(n_states * dv) : 0, 0.0f);
  auto out_row = [&](int64_t qi, int h) { return a.out + qi * a.out_stride + static_cast<int64_t>(h) * dv; };
  for (int64_t qi = 0; qi < a.n_q; ++qi) {
    for (int h = 0; h < a.n_head; ++h) {
      for (int64_t c = 0; c < t.n_chunks; ++c) {
        const int64_t i = (qi * a.n_head + h) * t.n_chunks + c;
        states[static_cast<size_t>(i)].acc = split ? accs.data() + i * dv : out_row(qi, h);
      }
      if (!split) std::fill(out_row(qi, h), out_row(qi, h) + dv, 0.0f);
    }
  }
  auto state_of = [&](int64_t qi, int h, int64_t c) {
    return &states[static_cast<size_t>((qi * a.n_head + h) * t.n_chunks + c)];
  };

  const int64_t n_tasks = a.n_q * a.n_head_kv * t.n_sub * t.n_chunks;
  pool.run(static_cast<int>(n_tasks), [&](int task, int) {
    int64_t rest = task;
    const int64_t c = rest % t.n_chunks;
    rest /= t.n_chunks;
    const int sb = static_cast<int>(rest % t.n_sub);
    rest /= t.n_sub;
    const int hk = static_cast<int>(rest % a.n_head_kv);
    const int64_t qi = rest / a.n_head_kv;
    int64_t visible = a.causal ? std::min(a.n_kv, a.q_pos0 + qi + 1) : a.n_kv;
    visible = std::max<int64_t>(visible, 0);
    const int64_t j0 = std::min(visible, c * t.chunk), j1 = std::min(visible, j0 + t.chunk);
    const int h0 = hk * t.group + sb * t.sub;
    const int n = std::min(t.sub, hk * t.group + t.group - h0);
    head_state st[k_max_group];
    for (int g = 0; g < n; ++g) st[g] = *state_of(qi, h0 + g, c);
    group_worker w(a, dot);
    w.run(qi, hk, h0, n, j0, j1, st);
    for (int g = 0; g < n; ++g) *state_of(qi, h0 + g, c) = st[g];
  });

  for (int64_t qi = 0; qi < a.n_q; ++qi) {
    for (int h = 0; h < a.n_head; ++h) {
      if (split) {
        merge(state_of(qi, h, 0), t.n_chunks, dv, out_row(qi, h));
      } else {
        const head_state& st = *state_of(qi, h, 0);
        const float inv = st.s > 0 ? static_cast<float>(1.0 / st.s) : 0.0f;
        scale(out_row(qi, h), inv, out_row(qi, h), dv);
      }
    }
  }
}

}  // namespace r1::kernels
