// The deepseek2 mixture-of-experts FFN: router → route_experts (moe_routing.h) → the chosen
// experts' SwiGLU FFNs weighted and summed, plus the shared expert(s) unweighted.
//
// Tokens are grouped per expert, so a batch reads each chosen expert's weights once (what
// llama.cpp's mul_mat_id does); experts no token chose are never touched, which is what lets a
// model larger than RAM run from the page cache: only the chosen experts' pages are faulted in.
#include <algorithm>
#include <cstring>

#include "../blocks.h"
#include "deepseek2.h"
#include "r1/engine/moe_routing.h"
#include "r1/kernels/matmul.h"
#include "r1/kernels/ops.h"
#include "r1/kernels/quants.h"
#include "r1/base/assert.h"

namespace r1::engine {
namespace {

moe_routing_params routing_of(const model_hparams& hp) {
  moe_routing_params p;
  p.n_expert = static_cast<int>(hp.n_expert);
  p.n_used = static_cast<int>(hp.n_expert_used);
  p.gating = static_cast<moe_gating>(hp.expert_gating);
  p.norm = hp.expert_weights_norm;
  p.scale = hp.expert_weights_scale;
  p.n_groups = static_cast<int>(hp.n_expert_groups);
  p.n_group_used = static_cast<int>(hp.n_group_used);
  return p;
}

// y (n × n_embd) += SwiGLU FFN of the rows x (n × n_embd) through gate/up/down.
void swiglu_rows(forward_state& fs, const kernels::matrix_view& gate, const kernels::matrix_view& up,
                 const kernels::matrix_view& down, const float* x, int32_t n, float* g, float* u, float* out) {
  const int64_t ne = gate.cols, nf = gate.rows;
  kernels::matmul(gate, x, n, ne, g, nf, *fs.pool, *fs.scratch);
  kernels::matmul(up, x, n, ne, u, nf, *fs.pool, *fs.scratch);
  kernels::swiglu(g, u, g, nf * n, *fs.pool);
  kernels::matmul(down, g, n, nf, out, ne, *fs.pool, *fs.scratch);
}

// s.ids / s.wts: the experts chosen for each token; s.order: token slots (t * n_used + k)
// sorted by expert; s.count: slots per expert.
void route_batch(const model_hparams& hp, forward_state& fs, const layer_weights& l, deepseek2_scratch& s) {
  const int32_t n = fs.n;
  const moe_routing_params p = routing_of(hp);
  const size_t ne = hp.n_expert, nu = hp.n_expert_used;
  float* logits = deepseek2_reserve(s.logits, static_cast<size_t>(n) * ne);
  linear(fs, l.ffn_gate_inp, fs.xn.data(), n, logits);
  float* work = deepseek2_reserve(s.route_work, moe_routing_work_size(p));
  if (s.ids.size() < n * nu) s.ids.resize(n * nu);
  deepseek2_reserve(s.wts, n * nu);
  const float* bias = l.exp_probs_b.empty() ? nullptr : l.exp_probs_b.data();
  for (int32_t t = 0; t < n; ++t) {
    route_experts(p, logits + t * ne, bias, s.ids.data() + t * nu, s.wts.data() + t * nu, work);
  }
  s.count.assign(ne + 1, 0);
  for (size_t i = 0; i < n * nu; ++i) ++s.count[static_cast<size_t>(s.ids[i]) + 1];
  for (size_t e = 0; e < ne; ++e) s.count[e + 1] += s.count[e];  // now starts
  s.order.resize(n * nu);
  std::vector<int32_t> next(s.count.begin(), s.count.end() - 1);
  for (size_t i = 0; i < n * nu; ++i) s.order[static_cast<size_t>(next[static_cast<size_t>(s.ids[i])]++)] = static_cast<int32_t>(i);
}

// Decode (one token): the chosen experts' gate/up rows, then their down rows, each as one pool
// run over row chunks of all chosen experts together, instead of three matmul calls per expert.
// Every dot is the same vec_dot a matmul computes; only the order in which the weighted
// experts are summed differs (chosen order instead of expert id).
void experts_one_token(forward_state& fs, const layer_weights& l, const int32_t* ids, const float* wts, int n_used,
                       float* g, float* u, float* d, float* y, deepseek2_scratch& s) {
  const kernels::matrix_view& gate0 = l.ffn_gate_exps.first;
  const kernels::matrix_view& up0 = l.ffn_up_exps.first;
  const kernels::matrix_view& down0 = l.ffn_down_exps.first;
  const int64_t ne = gate0.cols, nf = gate0.rows;
  const tensor_type tg = kernels::vec_dot_type(gate0.type), tu = kernels::vec_dot_type(up0.type);
  const tensor_type td = kernels::vec_dot_type(down0.type);
  const size_t rg = kernels::row_size(tg, ne), ru = kernels::row_size(tu, ne), rd = kernels::row_size(td, nf);
  s.act.resize(rg + ru + rd * static_cast<size_t>(n_used));
  uint8_t* xg = s.act.data();
  uint8_t* xu = xg + rg;
  uint8_t* gq = xu + ru;
  const status qg = kernels::quantize_row(tg, fs.xn.data(), xg, ne);
  const status qu = kernels::quantize_row(tu, fs.xn.data(), xu, ne);
  R1_ASSERT(qg.ok() && qu.ok());  // shapes were checked at load
  constexpr int64_t chunk = 16;
  const int64_t per_expert = (2 * nf + chunk - 1) / chunk;  // gate rows then up rows
  fs.pool->run(static_cast<int>(per_expert * n_used), [&](int task, int) {
    const int k = static_cast<int>(task / per_expert);
    const int64_t r0 = (task % per_expert) * chunk, r1 = std::min(r0 + chunk, 2 * nf);
    const kernels::matrix_view mg = l.ffn_gate_exps.at(ids[k]), mu = l.ffn_up_exps.at(ids[k]);
    for (int64_t r = r0; r < r1; ++r) {
      const bool is_gate = r < nf;
      const kernels::matrix_view& m = is_gate ? mg : mu;
      const int64_t row = is_gate ? r : r - nf;
      const float v = kernels::vec_dot(m.type, ne, static_cast<const uint8_t*>(m.data) + row * m.row_stride_bytes,
                                       is_gate ? xg : xu);
      (is_gate ? g : u)[k * nf + row] = v;
    }
  });
  kernels::swiglu(g, u, g, nf * n_used);
  for (int k = 0; k < n_used; ++k) {
    const status qd = kernels::quantize_row(td, g + k * nf, gq + k * rd, nf);
    R1_ASSERT(qd.ok());
  }
  const int64_t per_down = (ne + chunk - 1) / chunk;
  fs.pool->run(static_cast<int>(per_down * n_used), [&](int task, int) {
    const int k = static_cast<int>(task / per_down);
    const int64_t r0 = (task % per_down) * chunk, r1 = std::min(r0 + chunk, ne);
    const kernels::matrix_view m = l.ffn_down_exps.at(ids[k]);
    for (int64_t r = r0; r < r1; ++r) {
      d[k * ne + r] = kernels::vec_dot(m.type, nf, static_cast<const uint8_t*>(m.data) + r * m.row_stride_bytes,
                                       gq + k * rd);
    }
  });
  for (int k = 0; k < n_used; ++k) kernels::add_scaled(d + k * ne, wts[k], y, ne);
}

}  // namespace

void deepseek2_moe_ffn(const model& m, forward_state& fs, const layer_weights& l) {
  const model_hparams& hp = m.hparams();
  deepseek2_scratch& s = deepseek2_thread_scratch();
  const int32_t n = fs.n;
  const int64_t n_embd = hp.n_embd;
  const size_t nu = hp.n_expert_used;
  norm_rows(fs.x.data(), l.ffn_norm, fs.xn.data(), n, n_embd, hp.rms_eps);
  route_batch(hp, fs, l, s);

  const size_t rows = static_cast<size_t>(n) * std::max<size_t>(nu, 1);
  const size_t ff = static_cast<size_t>(hp.n_ff_exp) * std::max<uint32_t>(hp.n_expert_shared, 1);
  float* xg = deepseek2_reserve(s.xg, rows * n_embd);
  float* g = deepseek2_reserve(s.g, std::max<size_t>(rows * hp.n_ff_exp, n * ff));
  float* u = deepseek2_reserve(s.u, std::max<size_t>(rows * hp.n_ff_exp, n * ff));
  float* d = deepseek2_reserve(s.d, rows * n_embd);
  float* y = deepseek2_reserve(s.y, static_cast<size_t>(n) * n_embd);
  std::fill(y, y + static_cast<size_t>(n) * n_embd, 0.0f);

  if (n == 1) {
    experts_one_token(fs, l, s.ids.data(), s.wts.data(), static_cast<int>(nu), g, u, d, y, s);
  }
  for (uint32_t e = 0; n > 1 && e < hp.n_expert; ++e) {
    const int32_t first = s.count[e], cnt = s.count[e + 1] - first;
    if (cnt == 0) continue;
    for (int32_t i = 0; i < cnt; ++i) {
      const size_t t = static_cast<size_t>(s.order[static_cast<size_t>(first + i)]) / nu;
      std::memcpy(xg + i * n_embd, fs.xn.data() + t * n_embd, static_cast<size_t>(n_embd) * sizeof(float));
    }
    swiglu_rows(fs, l.ffn_gate_exps.at(e), l.ffn_up_exps.at(e), l.ffn_down_exps.at(e), xg, cnt, g, u, d);
    for (int32_t i = 0; i < cnt; ++i) {
      const size_t slot = static_cast<size_t>(s.order[static_cast<size_t>(first + i)]);
      kernels::add_scaled(d + i * n_embd, s.wts[slot], y + (slot / nu) * n_embd, n_embd);
    }
  }
  if (l.ffn_gate_shexp) {
    swiglu_rows(fs, l.ffn_gate_shexp.view, l.ffn_up_shexp.view, l.ffn_down_shexp.view, fs.xn.data(), n, g, u, d);
    kernels::add(y, d, y, int64_t{n} * n_embd);
  }
  kernels::add(fs.x.data(), y, fs.x.data(), int64_t{n} * n_embd);
}

}  // namespace r1::engine
