#include "device_forward.h"

#include "r1/kernels/quants.h"

namespace r1::kernels::testing {

namespace {
tensor_arg at(const std::unique_ptr<buffer>& b, int64_t float_offset = 0) {
  return {b.get(), static_cast<size_t>(float_offset) * 4};
}
}  // namespace

result<std::unique_ptr<device_forward>> device_forward::create(device& d, const gguf::model_files& f,
                                                               const engine::model_hparams& hp, int32_t n_ctx) {
  std::unique_ptr<device_forward> fw(new device_forward(d, hp));
  fw->n_ctx_ = n_ctx;
  fw->n_max_ = 64;
  for (const auto& shard : f.shards())
    for (const auto& t : shard->tensors()) {
      weight wt{t.type, static_cast<int64_t>(t.n_rows()), static_cast<int64_t>(t.ne[0]), nullptr};
      R1_ASSIGN_OR_RETURN(wt.buf, d.alloc(t.size));
      R1_RETURN_IF_ERROR(wt.buf->upload(0, t.data, t.size));
      fw->w_.emplace(std::string(t.name), std::move(wt));
    }
  const int64_t kw = int64_t{hp.n_head_kv} * hp.head_dim_k, vw = int64_t{hp.n_head_kv} * hp.head_dim_v;
  for (uint32_t il = 0; il < hp.n_layer; ++il) {
    R1_ASSIGN_OR_RETURN(auto kc, d.alloc(row_size(tensor_type::f16, kw) * n_ctx));
    R1_ASSIGN_OR_RETURN(auto vc, d.alloc(row_size(tensor_type::f16, vw) * n_ctx));
    fw->k_cache_.push_back(std::move(kc));
    fw->v_cache_.push_back(std::move(vc));
  }
  const int64_t n = fw->n_max_;
  auto alloc_f = [&](std::unique_ptr<buffer>& b, int64_t floats) -> status {
    R1_ASSIGN_OR_RETURN(b, d.alloc(static_cast<size_t>(floats) * 4));
    return ok_status();
  };
  R1_RETURN_IF_ERROR(alloc_f(fw->x_, n * hp.n_embd));
  R1_RETURN_IF_ERROR(alloc_f(fw->xn_, n * hp.n_embd));
  R1_RETURN_IF_ERROR(alloc_f(fw->tmp_, n * hp.n_embd));
  R1_RETURN_IF_ERROR(alloc_f(fw->q_, n * hp.n_head * hp.head_dim_k));
  R1_RETURN_IF_ERROR(alloc_f(fw->k_, n * kw));
  R1_RETURN_IF_ERROR(alloc_f(fw->v_, n * vw));
  R1_RETURN_IF_ERROR(alloc_f(fw->att_, n * hp.n_head * hp.head_dim_v));
  R1_RETURN_IF_ERROR(alloc_f(fw->gate_, n * hp.n_ff));
  R1_RETURN_IF_ERROR(alloc_f(fw->up_, n * hp.n_ff));
  R1_RETURN_IF_ERROR(alloc_f(fw->ids_, n));
  R1_RETURN_IF_ERROR(alloc_f(fw->pos_, n));
  R1_RETURN_IF_ERROR(alloc_f(fw->logits_, hp.n_vocab));
  if (hp.rope.freq_factors) {
    R1_RETURN_IF_ERROR(alloc_f(fw->freq_factors_, hp.rope.n_rot / 2));
    R1_RETURN_IF_ERROR(fw->freq_factors_->upload(0, hp.rope.freq_factors, hp.rope.n_rot / 2 * 4));
  }
  R1_ASSIGN_OR_RETURN(fw->s_, d.create_stream());
  return fw;
}

const device_forward::weight* device_forward::w(const std::string& name) const {
  auto it = w_.find(name);
  return it == w_.end() ? nullptr : &it->second;
}

status device_forward::linear(const std::string& name, const tensor_arg& x, int64_t n, const tensor_arg& y) {
  const weight* m = w(name + ".weight");
  if (!m) return not_found("device forward: no tensor " + name);
  R1_RETURN_IF_ERROR(s_->matmul({m->type, m->rows, m->cols, {m->buf.get(), 0}, x, n, m->cols, y, m->rows}));
  if (const weight* b = w(name + ".bias"))
    R1_RETURN_IF_ERROR(s_->binary({binary_op::add, y, {b->buf.get(), 0}, y, n * m->rows, m->rows}));
  return ok_status();
}

status device_forward::layer(int il, int64_t n, int32_t pos) {
  const std::string p = "blk." + std::to_string(il) + ".";
  const int64_t e = hp_.n_embd, hd = hp_.head_dim_k, kw = int64_t{hp_.n_head_kv} * hd;
  const int64_t vw = int64_t{hp_.n_head_kv} * hp_.head_dim_v;
  auto norm = [&](const std::string& name, const tensor_arg& x, const tensor_arg& y, int64_t width, int64_t rows) {
    return s_->rms_norm({x, {w(name)->buf.get(), 0}, y, width, rows, width, hp_.rms_eps});
  };
  R1_RETURN_IF_ERROR(norm(p + "attn_norm.weight", at(x_), at(xn_), e, n));
  R1_RETURN_IF_ERROR(linear(p + "attn_q", at(xn_), n, at(q_)));
  R1_RETURN_IF_ERROR(linear(p + "attn_k", at(xn_), n, at(k_)));
  R1_RETURN_IF_ERROR(linear(p + "attn_v", at(xn_), n, at(v_)));
  if (w(p + "attn_q_norm.weight")) {  // qwen3: per-head norms
    R1_RETURN_IF_ERROR(norm(p + "attn_q_norm.weight", at(q_), at(q_), hd, n * hp_.n_head));
    R1_RETURN_IF_ERROR(norm(p + "attn_k_norm.weight", at(k_), at(k_), hd, n * hp_.n_head_kv));
  }
  rope_args r;
  r.pos = at(pos_);
  r.freq_factors = freq_factors_ ? at(freq_factors_) : tensor_arg{};
  r.n_tokens = n;
  r.head_dim = hd;
  r.n_rot = hp_.rope.n_rot;
  r.neox = hp_.rope.neox;
  r.freq_base = hp_.rope.freq_base;
  r.freq_scale = hp_.rope.freq_scale;
  r.ext_factor = hp_.rope.ext_factor;
  r.attn_factor = hp_.rope.attn_factor;
  r.beta_fast = hp_.rope.beta_fast;
  r.beta_slow = hp_.rope.beta_slow;
  r.n_ctx_orig = hp_.rope.n_ctx_orig;
  r.x = at(q_);
  r.n_heads = hp_.n_head;
  r.token_stride = int64_t{hp_.n_head} * hd;
  R1_RETURN_IF_ERROR(s_->rope(r));
  r.x = at(k_);
  r.n_heads = hp_.n_head_kv;
  r.token_stride = kw;
  R1_RETURN_IF_ERROR(s_->rope(r));
  const size_t krow = row_size(tensor_type::f16, kw), vrow = row_size(tensor_type::f16, vw);
  R1_RETURN_IF_ERROR(s_->convert_rows({at(k_), kw, n, kw, tensor_type::f16, {k_cache_[il].get(), pos * krow}, krow}));
  R1_RETURN_IF_ERROR(s_->convert_rows({at(v_), vw, n, vw, tensor_type::f16, {v_cache_[il].get(), pos * vrow}, vrow}));
  attention_op_args a;
  a.q = at(q_);
  a.out = at(att_);
  a.q_stride = int64_t{hp_.n_head} * hd;
  a.out_stride = int64_t{hp_.n_head} * hp_.head_dim_v;
  a.n_q = n;
  a.n_head = static_cast<int>(hp_.n_head);
  a.n_head_kv = static_cast<int>(hp_.n_head_kv);
  a.head_dim_k = static_cast<int>(hd);
  a.head_dim_v = static_cast<int>(hp_.head_dim_v);
  a.n_kv = pos + n;
  a.q_pos0 = pos;
  a.scale = hp_.kq_scale;
  a.k = {tensor_type::f16, {k_cache_[il].get(), 0}, krow, row_size(tensor_type::f16, hd)};
  a.v = {tensor_type::f16, {v_cache_[il].get(), 0}, vrow, row_size(tensor_type::f16, hp_.head_dim_v)};
  R1_RETURN_IF_ERROR(s_->attention(a));
  R1_RETURN_IF_ERROR(linear(p + "attn_output", at(att_), n, at(tmp_)));
  R1_RETURN_IF_ERROR(s_->binary({binary_op::add, at(x_), at(tmp_), at(x_), n * e, 0}));
  R1_RETURN_IF_ERROR(norm(p + "ffn_norm.weight", at(x_), at(xn_), e, n));
  R1_RETURN_IF_ERROR(linear(p + "ffn_gate", at(xn_), n, at(gate_)));
  R1_RETURN_IF_ERROR(linear(p + "ffn_up", at(xn_), n, at(up_)));
  R1_RETURN_IF_ERROR(s_->swiglu({at(gate_), at(up_), at(gate_), n * hp_.n_ff}));
  R1_RETURN_IF_ERROR(linear(p + "ffn_down", at(gate_), n, at(tmp_)));
  return s_->binary({binary_op::add, at(x_), at(tmp_), at(x_), n * e, 0});
}

result<std::vector<float>> device_forward::decode(const std::vector<int32_t>& tokens, int32_t pos) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0 || n > n_max_ || pos + n > n_ctx_) return invalid_argument("device forward: batch outside the buffers");
  std::vector<int32_t> positions(tokens.size());
  for (int64_t i = 0; i < n; ++i) positions[i] = pos + static_cast<int32_t>(i);
  R1_RETURN_IF_ERROR(ids_->upload(0, tokens.data(), n * 4));
  R1_RETURN_IF_ERROR(pos_->upload(0, positions.data(), n * 4));
  const weight* embd = w("token_embd.weight");
  R1_RETURN_IF_ERROR(s_->get_rows({embd->type, {embd->buf.get(), 0}, embd->rows, embd->cols, at(ids_), n, at(x_)}));
  for (uint32_t il = 0; il < hp_.n_layer; ++il) R1_RETURN_IF_ERROR(layer(static_cast<int>(il), n, pos));
  const int64_t e = hp_.n_embd;
  R1_RETURN_IF_ERROR(s_->rms_norm({at(x_, (n - 1) * e), {w("output_norm.weight")->buf.get(), 0}, at(xn_), e, 1, e,
                                   hp_.rms_eps}));
  const weight* out = w("output.weight") ? w("output.weight") : embd;
  R1_RETURN_IF_ERROR(s_->matmul({out->type, out->rows, out->cols, {out->buf.get(), 0}, at(xn_), 1, e, at(logits_), 0}));
  R1_RETURN_IF_ERROR(s_->synchronize());
  std::vector<float> logits(hp_.n_vocab);
  R1_RETURN_IF_ERROR(logits_->download(0, logits.data(), logits.size() * 4));
  return logits;
}

}  // namespace r1::kernels::testing
