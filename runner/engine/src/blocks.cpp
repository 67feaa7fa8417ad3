#include "blocks.h"

#include <vector>

#include "r1/base/assert.h"
#include "r1/kernels/attention.h"
#include "r1/kernels/matmul.h"
#include "r1/kernels/ops.h"
#include "r1/kernels/quants.h"

namespace r1::engine {

void norm_rows(const float* x, const vec& w, float* y, int32_t n, int64_t width, float eps) {
  for (int32_t r = 0; r < n; ++r) {
    kernels::rms_norm(x + r * width, w.empty() ? nullptr : w.data(), y + r * width, width, eps);
  }
}

void linear(forward_state& fs, const matrix& w, const float* x, int32_t n, float* y, const vec* bias) {
  kernels::matmul(w.view, x, n, w.view.cols, y, w.view.rows, *fs.pool, *fs.scratch);
  if (bias != nullptr && !bias->empty()) {
    R1_ASSERT(static_cast<int64_t>(bias->size()) == w.view.rows);
    for (int32_t r = 0; r < n; ++r) kernels::add(y + r * w.view.rows, bias->data(), y + r * w.view.rows, w.view.rows);
  }
}

void linear_many(forward_state& fs, std::initializer_list<const matrix*> ws, const float* x, int32_t n,
                 std::initializer_list<float*> ys, std::initializer_list<const vec*> biases) {
  R1_ASSERT(ws.size() == ys.size() && (biases.size() == 0 || biases.size() == ws.size()));
  const matrix& first = **ws.begin();
  const tensor_type act = kernels::vec_dot_type(first.view.type);
  bool shared = true;
  // A matrix whose batch runs from the float activations (matmul_takes_float)
  // gains nothing from a shared quantization.
  for (const matrix* w : ws)
    shared = shared && kernels::vec_dot_type(w->view.type) == act && w->view.cols == first.view.cols &&
             !kernels::matmul_takes_float(w->view, n);
  auto y = ys.begin();
  auto b = biases.begin();
  if (!shared) {
    for (const matrix* w : ws) {
      linear(fs, *w, x, n, *y++, biases.size() ? *b++ : nullptr);
    }
    return;
  }
  const int64_t cols = first.view.cols;
  const size_t row = kernels::row_size(act, cols);
  fs.act_q.resize(row * static_cast<size_t>(n));
  kernels::quantize_columns(act, x, n, cols, cols, fs.act_q.data(), *fs.pool);
  std::vector<kernels::matmul_target> targets;
  for (const matrix* w : ws) targets.push_back({&w->view, *y++, w->view.rows});
  kernels::matmul_quantized_many(targets, fs.act_q.data(), n, row, *fs.pool);
  for (const kernels::matmul_target& t : targets) {
    const vec* bias = biases.size() ? *b++ : nullptr;
    if (bias != nullptr && !bias->empty()) {
      for (int32_t r = 0; r < n; ++r) kernels::add(t.y + r * t.w->rows, bias->data(), t.y + r * t.w->rows, t.w->rows);
    }
  }
}

void norm_heads(float* x, const vec& w, int32_t n, int64_t n_heads, int64_t head_dim, float eps) {
  for (int64_t i = 0; i < int64_t{n} * n_heads; ++i) {
    kernels::rms_norm(x + i * head_dim, w.data(), x + i * head_dim, head_dim, eps);
  }
}

void rope_qk(const model& m, forward_state& fs) {
  const model_hparams& hp = m.hparams();
  const int64_t hd = hp.head_dim_k;
  kernels::rope(fs.q.data(), fs.n, hp.n_head, hd, hp.n_head * hd, fs.pos.data(), hp.rope);
  kernels::rope(fs.k.data(), fs.n, hp.n_head_kv, hd, hp.n_head_kv * hd, fs.pos.data(), hp.rope);
}

void attend(const model& m, forward_state& fs, int il) {
  const model_hparams& hp = m.hparams();
  const int64_t kw = int64_t{hp.n_head_kv} * hp.head_dim_k;
  const int64_t vw = int64_t{hp.n_head_kv} * hp.head_dim_v;
  const int64_t qw = int64_t{hp.n_head} * hp.head_dim_k;
  const int64_t ow = int64_t{hp.n_head} * hp.head_dim_v;
  // Each span writes its own sequence's cache and attends over it alone.
  for (const seq_span& sp : fs.spans) {
    const int64_t r0 = sp.row0;
    fs.kv->store(il, sp.seq, sp.pos0, sp.n, fs.k.data() + r0 * kw, kw, fs.v.data() + r0 * vw, vw);
    kernels::attention_args a;
    a.q = fs.q.data() + r0 * qw;
    a.q_stride = qw;
    a.out = fs.att.data() + r0 * ow;
    a.out_stride = ow;
    a.n_q = sp.n;
    a.n_head = static_cast<int>(hp.n_head);
    a.n_head_kv = static_cast<int>(hp.n_head_kv);
    a.head_dim_k = static_cast<int>(hp.head_dim_k);
    a.head_dim_v = static_cast<int>(hp.head_dim_v);
    a.n_kv = sp.pos0 + sp.n;
    a.q_pos0 = sp.pos0;
    a.causal = true;
    a.scale = hp.kq_scale;
    a.k = fs.kv->k_view(il, sp.seq);
    a.v = fs.kv->v_view(il, sp.seq);
    kernels::attention(a, *fs.pool);
  }
}

void attn_output(forward_state& fs, const layer_weights& l) {
  linear(fs, l.wo, fs.att.data(), fs.n, fs.tmp.data());
  const int64_t width = l.wo.view.rows;
  kernels::add(fs.x.data(), fs.tmp.data(), fs.x.data(), width * fs.n);
}

void ffn_swiglu(const model& m, forward_state& fs, const layer_weights& l) {
  const model_hparams& hp = m.hparams();
  norm_rows(fs.x.data(), l.ffn_norm, fs.xn.data(), fs.n, hp.n_embd, hp.rms_eps);
  linear_many(fs, {&l.ffn_gate, &l.ffn_up}, fs.xn.data(), fs.n, {fs.gate.data(), fs.up.data()});
  kernels::swiglu(fs.gate.data(), fs.up.data(), fs.gate.data(), int64_t{hp.n_ff} * fs.n, *fs.pool);
  linear(fs, l.ffn_down, fs.gate.data(), fs.n, fs.tmp.data());
  kernels::add(fs.x.data(), fs.tmp.data(), fs.x.data(), int64_t{hp.n_embd} * fs.n);
}

}  // namespace r1::engine
