// Flash attention in blocks. A task is (KV head, up to 48 query rows sharing
// it, range of keys); its rows are the query heads of one GQA group (or a slice
// of a large group) times a block of consecutive queries, so every K and V row
// of a tile is converted to F32 once and used by all of them. The queries are
// stored transposed (rows along vector lanes): scores, the online softmax and
// the P·V product are then register-blocked FMAs with no horizontal sums (the
// per-ISA inner loops are in vec_ops_impl.h). Each score is one FMA chain over
// the head dimension and tiles start at multiples of 64 keys, so a row's result
// does not depend on which block it was computed in. When there are few tasks
// (decode) and many keys, the key range is split into chunks whose partial
// (max, sum, accumulator) are merged afterwards. The split depends only on the
// shapes, never on the thread count, so results are the same for any pool size.
#include "r1/kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "r1/base/assert.h"
#include "r1/kernels/ops.h"
#include "r1/kernels/quants.h"
#include "vec_ops.h"

namespace r1::kernels {
namespace {

constexpr int k_max_head_dim = 1024;
constexpr int k_max_rows = 48;         // query rows per task
constexpr int64_t k_split_keys = 512;  // key chunk when the key range is split (a multiple of the tile)
constexpr int64_t k_split_below = 32;  // split only when there are fewer tasks than this

static_assert(k_split_keys % detail::k_attn_tile == 0);

bool kv_type_ok(tensor_type t) {
  return t == tensor_type::f32 || t == tensor_type::f16 || t == tensor_type::q8_0;
}

struct task_plan {
  int group = 1;         // query heads per KV head
  int sub = 1;           // heads per task
  int n_sub = 1;         // head slices per KV head
  int64_t q_block = 1;   // queries per task
  int64_t n_qb = 1;      // query blocks
  int64_t chunk = 0;     // keys per chunk
  int64_t n_chunks = 1;
  int64_t n_tasks = 0;
};

task_plan plan(const attention_args& a) {
  task_plan t;
  t.group = a.n_head / a.n_head_kv;
  t.n_sub = (t.group + k_max_rows - 1) / k_max_rows;
  t.sub = (t.group + t.n_sub - 1) / t.n_sub;
  t.q_block = std::min<int64_t>(std::max(1, k_max_rows / t.sub), a.n_q);
  t.n_qb = (a.n_q + t.q_block - 1) / t.q_block;
  t.chunk = std::max<int64_t>(a.n_kv, 1);
  const int64_t base_tasks = t.n_qb * a.n_head_kv * t.n_sub;
  if (base_tasks < k_split_below && a.n_kv > 2 * k_split_keys) {
    t.chunk = k_split_keys;
    t.n_chunks = (a.n_kv + k_split_keys - 1) / k_split_keys;
  }
  t.n_tasks = base_tasks * t.n_chunks;
  return t;
}

void f16_row(const void* src, float* dst, int n) { convert_f16_to_f32(static_cast<const uint16_t*>(src), dst, n); }
void q8_0_row(const void* src, float* dst, int n) { (void)dequantize_row(tensor_type::q8_0, src, dst, n); }

detail::row_to_f32_fn row_converter(tensor_type t) {
  if (t == tensor_type::f16) return f16_row;
  if (t == tensor_type::q8_0) return q8_0_row;
  return nullptr;
}

// Per pool thread, grown on demand and kept (pool threads are persistent).
struct task_buffers {
  std::vector<float> floats;
  std::vector<int32_t> vis_end;
  std::vector<uint8_t> q_conv;
};

// One task's rows, with their query and output positions.
struct task_rows {
  int64_t i0 = 0;  // first query
  int nq = 0;      // queries
  int h0 = 0;      // first query head
  int nh = 0;      // heads
  int count() const { return nq * nh; }
  int64_t query(int r) const { return i0 + r / nh; }
  int head(int r) const { return h0 + r % nh; }
};

class task_runner {
 public:
  task_runner(const attention_args& a, const task_plan& p, const detail::vec_ops_table& ops)
      : a_(a), p_(p), ops_(ops) {}

  // Runs task `task` and either writes its normalised rows to a.out or, when the
  // keys are split, its partial state into m/l/acc at (query, head, chunk).
  void run(int64_t task, float* part_m, float* part_l, float* part_acc) const;

 private:
  void load_queries(const task_rows& tr, int rows_pad, float* qt, task_buffers& b) const;

  const attention_args& a_;
  const task_plan& p_;
  const detail::vec_ops_table& ops_;
};

// Queries rounded to the K type's dot format (F16, or Q8_0 and back), as the
// dot kernels would see them, then transposed: qt[d * rows_pad + r].
void task_runner::load_queries(const task_rows& tr, int rows_pad, float* qt, task_buffers& b) const {
  const int dk = a_.head_dim_k;
  std::fill(qt, qt + static_cast<size_t>(dk) * rows_pad, 0.0f);
  b.q_conv.resize(row_size(tensor_type::q8_0, dk) + 2 * static_cast<size_t>(dk) + 64);
  float row[k_max_head_dim];
  for (int r = 0; r < tr.count(); ++r) {
    const float* q = a_.q + tr.query(r) * a_.q_stride + static_cast<int64_t>(tr.head(r)) * dk;
    if (a_.k.type == tensor_type::f16) {
      auto* h = reinterpret_cast<uint16_t*>(b.q_conv.data());
      convert_f32_to_f16(q, h, dk);
      convert_f16_to_f32(h, row, dk);
      q = row;
    } else if (a_.k.type == tensor_type::q8_0) {
      (void)quantize_row(tensor_type::q8_0, q, b.q_conv.data(), dk);
      (void)dequantize_row(tensor_type::q8_0, b.q_conv.data(), row, dk);
      q = row;
    }
    for (int d = 0; d < dk; ++d) qt[static_cast<size_t>(d) * rows_pad + r] = q[d];
  }
}

void task_runner::run(int64_t task, float* part_m, float* part_l, float* part_acc) const {
  thread_local task_buffers b;
  int64_t rest = task;
  const int64_t c = rest % p_.n_chunks;
  rest /= p_.n_chunks;
  const int sb = static_cast<int>(rest % p_.n_sub);
  rest /= p_.n_sub;
  const int hk = static_cast<int>(rest % a_.n_head_kv);
  const int64_t qb = p_.n_qb - 1 - rest / a_.n_head_kv;  // longest (latest) query blocks first
  task_rows tr;
  tr.i0 = qb * p_.q_block;
  tr.nq = static_cast<int>(std::min<int64_t>(p_.q_block, a_.n_q - tr.i0));
  tr.h0 = hk * p_.group + sb * p_.sub;
  tr.nh = std::min(p_.sub, hk * p_.group + p_.group - tr.h0);
  const int rows = tr.count();
  const int rows_pad = (rows + ops_.lanes - 1) / ops_.lanes * ops_.lanes;
  const int rows4 = (rows + 3) / 4 * 4;
  const int dk = a_.head_dim_k, dv = a_.head_dim_v;

  const size_t n_work = detail::attn_work_floats(rows_pad, dk, dv);
  b.floats.resize(static_cast<size_t>(rows_pad) * (dk + 2) + static_cast<size_t>(rows4) * dv + n_work);
  b.vis_end.assign(static_cast<size_t>(rows_pad), 0);
  float* qt = b.floats.data();
  float* m = qt + static_cast<size_t>(rows_pad) * dk;
  float* l = m + rows_pad;
  float* o = l + rows_pad;
  load_queries(tr, rows_pad, qt, b);
  std::fill(m, m + rows_pad, -INFINITY);
  std::fill(l, l + rows_pad, 0.0f);
  std::fill(o, o + static_cast<size_t>(rows4) * dv, 0.0f);
  int64_t max_vis = 0;
  for (int r = 0; r < rows; ++r) {
    int64_t vis = a_.causal ? std::min(a_.n_kv, a_.q_pos0 + tr.query(r) + 1) : a_.n_kv;
    vis = std::max<int64_t>(vis, 0);
    b.vis_end[static_cast<size_t>(r)] = static_cast<int32_t>(vis);
    max_vis = std::max(max_vis, vis);
  }

  detail::attn_task t;
  t.qt = qt;
  t.vis_end = b.vis_end.data();
  t.rows = rows;
  t.rows_pad = rows_pad;
  t.dk = dk;
  t.dv = dv;
  t.scale = a_.scale;
  t.j0 = std::min(max_vis, c * p_.chunk);
  t.j1 = std::min(max_vis, t.j0 + p_.chunk);
  t.k_data = static_cast<const uint8_t*>(a_.k.data) + static_cast<size_t>(hk) * a_.k.head_stride_bytes;
  t.k_stride = a_.k.pos_stride_bytes;
  t.k_to_f32 = row_converter(a_.k.type);
  t.v_data = static_cast<const uint8_t*>(a_.v.data) + static_cast<size_t>(hk) * a_.v.head_stride_bytes;
  t.v_stride = a_.v.pos_stride_bytes;
  t.v_to_f32 = row_converter(a_.v.type);
  t.k_f16 = a_.k.type == tensor_type::f16;
  t.v_f16 = a_.v.type == tensor_type::f16;
  t.k_row_bytes = row_size(a_.k.type, dk);
  t.v_row_bytes = row_size(a_.v.type, dv);
  t.m = m;
  t.l = l;
  t.o = o;
  t.work = o + static_cast<size_t>(rows4) * dv;
  if (t.j1 > t.j0) ops_.attn_run(t);

  for (int r = 0; r < rows; ++r) {
    const int64_t qi = tr.query(r);
    const int h = tr.head(r);
    const float* src = o + static_cast<size_t>(r) * dv;
    if (p_.n_chunks > 1) {
      const int64_t i = (qi * a_.n_head + h) * p_.n_chunks + c;
      part_m[i] = m[r];
      part_l[i] = l[r];
      std::copy(src, src + dv, part_acc + i * dv);
    } else {
      const float inv = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;
      scale(src, inv, a_.out + qi * a_.out_stride + static_cast<int64_t>(h) * dv, dv);
    }
  }
}

// Merges the chunk partials of one head into out (zeros if no key was seen).
void merge(const float* m_parts, const float* l_parts, const float* accs, int64_t n_parts, int dv, float* out) {
  float m = -INFINITY;
  for (int64_t c = 0; c < n_parts; ++c) m = std::fmax(m, m_parts[c]);
  double s = 0;
  std::fill(out, out + dv, 0.0f);
  if (m == -INFINITY) return;
  for (int64_t c = 0; c < n_parts; ++c) {
    if (m_parts[c] == -INFINITY) continue;
    const float f = std::exp(m_parts[c] - m);
    s += static_cast<double>(l_parts[c]) * f;
    add_scaled(accs + c * dv, f, out, dv);
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
  R1_ASSERT(a.n_kv < (int64_t{1} << 31) - 1);
  if (a.n_q <= 0) return;
  const task_plan p = plan(a);
  const int dv = a.head_dim_v;
  const bool split = p.n_chunks > 1;
  const int64_t n_parts = split ? a.n_q * a.n_head * p.n_chunks : 0;
  std::vector<float> part_m(static_cast<size_t>(n_parts)), part_l(static_cast<size_t>(n_parts));
  std::vector<float> part_acc(static_cast<size_t>(n_parts * dv));
  const task_runner runner(a, p, detail::active_vec_ops());
  pool.run(static_cast<int>(p.n_tasks),
           [&](int task, int) { runner.run(task, part_m.data(), part_l.data(), part_acc.data()); });
  if (!split) return;
  for (int64_t qi = 0; qi < a.n_q; ++qi) {
    for (int h = 0; h < a.n_head; ++h) {
      const int64_t i = (qi * a.n_head + h) * p.n_chunks;
      merge(part_m.data() + i, part_l.data() + i, part_acc.data() + i * dv, p.n_chunks, dv,
            a.out + qi * a.out_stride + static_cast<int64_t>(h) * dv);
    }
  }
}

}  // namespace r1::kernels
