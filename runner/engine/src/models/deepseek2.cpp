// deepseek2 (DeepSeek-R1 671B, V3, V2): multi-head latent attention + mixture of experts.
//
// Attention. Q comes through a low-rank bottleneck (attn_q_a, RMSNorm attn_q_a_norm, attn_q_b;
// "lite" files have one attn_q instead); each head is [q_nope | q_pe]. K and V come from one
// compressed row per token, attn_kv_a_mqa → [c (kv_lora) | k_pe (rope dims)], with c normalised
// by attn_kv_a_norm and k_pe a single RoPE key shared by all heads. RoPE is NORM (adjacent
// pairs) on q_pe and k_pe only.
//   - Legacy files (attn_kv_b): c is expanded to per-head [k_nope | v]; K[h] = [k_nope[h] | k_pe],
//     Q[h] = [q_nope | q_pe]; ordinary multi-head attention with n_head cached KV heads.
//   - MLA-split files (attn_k_b, attn_v_b): the key up-projection is absorbed into the query,
//     q_lat[h] = k_b[h] · q_nope[h]; Q[h] = [q_lat | q_pe], K = [c | k_pe], V = c: multi-query
//     attention over the compressed row (one cached "head" of kv_lora + rope dims), then
//     o[h] = v_b[h] · o_lat[h]. The cache holds one row of kv_lora + rope values per token and
//     layer, V being read from its first kv_lora values (R1 at F16: 1152 B per layer, 70 KB per
//     token over 61 layers, against about 5 MB for the legacy path). We keep c before k_pe (the projection's own order), so the
//     K row is the projection output as is; context shifting (which would re-rotate k_pe) is not
//     done for this architecture.
// Both paths compute the same function; the tests check both against a float64 reference that
// always takes the expanded form.
//
// Scales (YaRN, llama.cpp's deepseek2 rule): RoPE magnitude is the file's rope.scaling.attn_factor
// (1 for R1), so the kernel's own 1 + 0.1 ln(1/freq_scale) boost is cancelled; the score scale
// is mscale² / sqrt(qk head) with mscale = attn_factor · (1 + 0.1 · yarn_log_multiplier ·
// ln(1/freq_scale)) — 0.135234 for R1.
//
// FFN: the first leading_dense_block_count layers use the dense SwiGLU FFN, the rest the MoE
// FFN of deepseek2_moe.cpp.
#include "deepseek2.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "../architecture.h"
#include "../blocks.h"
#include "common_bind.h"
#include "r1/kernels/attention.h"
#include "r1/kernels/matmul.h"
#include "r1/kernels/ops.h"
#include "r1/kernels/quants.h"
#include "r1/base/assert.h"

namespace r1::engine {

deepseek2_scratch& deepseek2_thread_scratch() {
  thread_local deepseek2_scratch s;
  return s;
}

float* deepseek2_reserve(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

namespace {

struct dims {
  int64_t n_head, qk, rope, nope, v, kv_lora, kv_w;
  bool mla;
};

dims dims_of(const model_hparams& hp) {
  dims d{};
  d.mla = hp.head_dim_k_mla != 0 && hp.head_dim_v_mla != 0;
  d.n_head = hp.n_head;
  d.qk = d.mla ? hp.head_dim_k_mla : hp.head_dim_k;
  d.v = d.mla ? hp.head_dim_v_mla : hp.head_dim_v;
  d.rope = hp.rope.n_rot;
  d.nope = d.qk - d.rope;
  d.kv_lora = hp.n_lora_kv;
  d.kv_w = d.kv_lora + d.rope;
  return d;
}

status bind_attention_mla(const tensor_source& src, const model_hparams& hp, int il, layer_weights& l) {
  const dims d = dims_of(hp);
  R1_ASSIGN_OR_RETURN(l.attn_norm, src.get_vector(layer_tensor(il, "attn_norm"), hp.n_embd));
  if (hp.n_lora_q != 0) {
    R1_ASSIGN_OR_RETURN(l.wq_a, src.get_matrix(layer_tensor(il, "attn_q_a"), hp.n_embd, hp.n_lora_q));
    R1_ASSIGN_OR_RETURN(l.q_a_norm, src.get_vector(layer_tensor(il, "attn_q_a_norm"), hp.n_lora_q));
    R1_ASSIGN_OR_RETURN(l.wq_b, src.get_matrix(layer_tensor(il, "attn_q_b"), hp.n_lora_q, d.n_head * d.qk));
  } else {
    R1_ASSIGN_OR_RETURN(l.wq, src.get_matrix(layer_tensor(il, "attn_q"), hp.n_embd, d.n_head * d.qk));
  }
  R1_ASSIGN_OR_RETURN(l.wkv_a_mqa, src.get_matrix(layer_tensor(il, "attn_kv_a_mqa"), hp.n_embd, d.kv_w));
  R1_ASSIGN_OR_RETURN(l.kv_a_norm, src.get_vector(layer_tensor(il, "attn_kv_a_norm"), d.kv_lora));
  if (d.mla) {
    R1_ASSIGN_OR_RETURN(l.wk_b, src.get_stacked(layer_tensor(il, "attn_k_b"), d.nope, d.kv_lora, d.n_head));
    R1_ASSIGN_OR_RETURN(l.wv_b, src.get_stacked(layer_tensor(il, "attn_v_b"), d.kv_lora, d.v, d.n_head));
  } else {
    R1_ASSIGN_OR_RETURN(l.wkv_b, src.get_matrix(layer_tensor(il, "attn_kv_b"), d.kv_lora, d.n_head * (d.nope + d.v)));
  }
  R1_ASSIGN_OR_RETURN(l.wo, src.get_matrix(layer_tensor(il, "attn_output"), d.n_head * d.v, hp.n_embd));
  return ok_status();
}

status bind_moe(const tensor_source& src, const model_hparams& hp, int il, layer_weights& l) {
  const uint64_t ne = hp.n_expert, nf = hp.n_ff_exp;
  R1_ASSIGN_OR_RETURN(l.ffn_norm, src.get_vector(layer_tensor(il, "ffn_norm"), hp.n_embd));
  R1_ASSIGN_OR_RETURN(l.ffn_gate_inp, src.get_matrix(layer_tensor(il, "ffn_gate_inp"), hp.n_embd, ne));
  R1_ASSIGN_OR_RETURN(l.exp_probs_b, src.get_vector_optional(layer_tensor(il, "exp_probs_b", "bias"), ne));
  R1_ASSIGN_OR_RETURN(l.ffn_gate_exps, src.get_stacked(layer_tensor(il, "ffn_gate_exps"), hp.n_embd, nf, ne));
  R1_ASSIGN_OR_RETURN(l.ffn_up_exps, src.get_stacked(layer_tensor(il, "ffn_up_exps"), hp.n_embd, nf, ne));
  R1_ASSIGN_OR_RETURN(l.ffn_down_exps, src.get_stacked(layer_tensor(il, "ffn_down_exps"), nf, hp.n_embd, ne));
  if (hp.n_expert_shared != 0) {
    const uint64_t ns = nf * hp.n_expert_shared;
    R1_ASSIGN_OR_RETURN(l.ffn_gate_shexp, src.get_matrix(layer_tensor(il, "ffn_gate_shexp"), hp.n_embd, ns));
    R1_ASSIGN_OR_RETURN(l.ffn_up_shexp, src.get_matrix(layer_tensor(il, "ffn_up_shexp"), hp.n_embd, ns));
    R1_ASSIGN_OR_RETURN(l.ffn_down_shexp, src.get_matrix(layer_tensor(il, "ffn_down_shexp"), ns, hp.n_embd));
  }
  return ok_status();
}

status check_hparams(const model_hparams& hp) {
  const dims d = dims_of(hp);
  if (hp.n_lora_kv == 0 || d.rope <= 0 || d.nope <= 0 || d.v <= 0) {
    return corrupt("deepseek2: kv_lora_rank " + std::to_string(hp.n_lora_kv) + ", qk head " + std::to_string(d.qk) +
                   ", rope dims " + std::to_string(d.rope) + " and v head " + std::to_string(d.v) +
                   " do not describe a latent attention");
  }
  if (d.mla ? (hp.n_head_kv != 1 || hp.head_dim_k != d.kv_w || hp.head_dim_v != d.kv_lora)
            : (hp.n_head_kv != hp.n_head)) {
    return corrupt("deepseek2: head_count_kv " + std::to_string(hp.n_head_kv) + " and key/value lengths " +
                   std::to_string(hp.head_dim_k) + "/" + std::to_string(hp.head_dim_v) + " do not match the " +
                   (d.mla ? "MLA-split" : "legacy") + " layout");
  }
  if (hp.n_layer_dense_lead < hp.n_layer && (hp.n_expert == 0 || hp.n_expert_used == 0 ||
                                             hp.n_expert_used > hp.n_expert || hp.n_ff_exp == 0)) {
    return corrupt("deepseek2: expert_count " + std::to_string(hp.n_expert) + ", expert_used_count " +
                   std::to_string(hp.n_expert_used) + " and expert_feed_forward_length " +
                   std::to_string(hp.n_ff_exp) + " cannot route");
  }
  if (hp.expert_gating < 1 || hp.expert_gating > 3) {
    return corrupt("deepseek2: expert_gating_func " + std::to_string(hp.expert_gating) + " is not 1..3");
  }
  return ok_status();
}

status bind_deepseek2(const tensor_source& src, const model_hparams& hp, weights& w) {
  R1_RETURN_IF_ERROR(check_hparams(hp));
  R1_RETURN_IF_ERROR(bind_common(src, hp, w));
  for (uint32_t il = 0; il < hp.n_layer; ++il) {
    layer_weights& l = w.layers[il];
    const int i = static_cast<int>(il);
    R1_RETURN_IF_ERROR(bind_attention_mla(src, hp, i, l));
    if (il < hp.n_layer_dense_lead) {
      R1_RETURN_IF_ERROR(bind_ffn(src, hp, i, l));
    } else {
      R1_RETURN_IF_ERROR(bind_moe(src, hp, i, l));
    }
  }
  return ok_status();
}

kernels::rope_params rope_of(const model_hparams& hp) {
  kernels::rope_params r = hp.rope;
  if (r.ext_factor != 0.0f) r.attn_factor /= 1.0f + 0.1f * std::log(1.0f / r.freq_scale);
  return r;
}

float kq_scale_of(const model_hparams& hp, const dims& d) {
  const double attn_factor = hp.rope.ext_factor != 0.0f ? hp.rope.attn_factor : 1.0;
  const double mscale = attn_factor * (1.0 + 0.1 * hp.yarn_log_multiplier * std::log(1.0 / hp.rope.freq_scale));
  return static_cast<float>(mscale * mscale / std::sqrt(static_cast<double>(d.qk)));
}

// q (n × n_head × qk, [q_nope | q_pe] per head) and the compressed rows kva (n × kv_w,
// [c | k_pe]), with RoPE applied and c normalised.
void project_qkv(const model& m, forward_state& fs, const layer_weights& l, const dims& d, float* q, float* kva) {
  const model_hparams& hp = m.hparams();
  deepseek2_scratch& s = deepseek2_thread_scratch();
  const int32_t n = fs.n;
  if (l.wq_a) {
    float* qa = deepseek2_reserve(s.qa, static_cast<size_t>(n) * hp.n_lora_q);
    linear(fs, l.wq_a, fs.xn.data(), n, qa);
    norm_rows(qa, l.q_a_norm, qa, n, hp.n_lora_q, hp.rms_eps);
    linear(fs, l.wq_b, qa, n, q);
  } else {
    linear(fs, l.wq, fs.xn.data(), n, q);
  }
  linear(fs, l.wkv_a_mqa, fs.xn.data(), n, kva);
  const kernels::rope_params rp = rope_of(hp);
  kernels::rope(q + d.nope, n, d.n_head, d.qk, d.n_head * d.qk, fs.pos.data(), rp);
  kernels::rope(kva + d.kv_lora, n, 1, d.rope, d.kv_w, fs.pos.data(), rp);
  for (int32_t t = 0; t < n; ++t) {
    float* c = kva + t * d.kv_w;
    kernels::rms_norm(c, l.kv_a_norm.data(), c, d.kv_lora, hp.rms_eps);
  }
}

// y[t][h] = w[h] · x[t][h] for every token t and head h (x rows of x_stride floats, head h at
// h * x_head; y likewise): the per-head attn_k_b / attn_v_b products. One pool run over all
// (token, head) pairs instead of a matmul call per head; each value is the same vec_dot a
// matmul would compute.
void per_head_matmul(forward_state& fs, const stacked_matrix& w, const float* x, int64_t x_stride, int64_t x_head,
                     float* y, int64_t y_stride, int64_t y_head) {
  const int32_t n = fs.n;
  const int64_t heads = w.n_mat, cols = w.first.cols, rows = w.first.rows;
  const tensor_type at = kernels::vec_dot_type(w.first.type);
  const size_t arow = kernels::row_size(at, cols);
  deepseek2_scratch& s = deepseek2_thread_scratch();
  if (s.act.size() < arow * static_cast<size_t>(n * heads)) s.act.resize(arow * static_cast<size_t>(n * heads));
  uint8_t* act = s.act.data();
  const int64_t pairs = int64_t{n} * heads;
  fs.pool->run(static_cast<int>(pairs), [&](int task, int) {
    const int64_t t = task / heads, h = task % heads;
    uint8_t* a = act + static_cast<size_t>(task) * arow;
    const status st = kernels::quantize_row(at, x + t * x_stride + h * x_head, a, cols);
    R1_ASSERT(st.ok());
    const kernels::matrix_view m = w.at(h);
    const uint8_t* wrow = static_cast<const uint8_t*>(m.data);
    float* out = y + t * y_stride + h * y_head;
    for (int64_t r = 0; r < rows; ++r) out[r] = kernels::vec_dot(m.type, cols, wrow + r * m.row_stride_bytes, a);
  });
}

kernels::attention_args attention_base(const model& m, const forward_state& fs, const dims& d, int il) {
  kernels::attention_args a;
  a.n_q = fs.n;
  a.n_head = static_cast<int>(d.n_head);
  a.n_kv = fs.pos0 + fs.n;
  a.q_pos0 = fs.pos0;
  a.causal = true;
  a.scale = kq_scale_of(m.hparams(), d);
  a.k = fs.kv->k_view(il, fs.seq);
  a.v = fs.kv->v_view(il, fs.seq);
  return a;
}

// Absorbed path: fs.k holds the compressed rows (the cached K), fs.q the absorbed queries.
void attention_mla(const model& m, forward_state& fs, const layer_weights& l, const dims& d, int il, float* o) {
  deepseek2_scratch& s = deepseek2_thread_scratch();
  const int32_t n = fs.n;
  float* q = deepseek2_reserve(s.qfull, static_cast<size_t>(n) * d.n_head * d.qk);
  project_qkv(m, fs, l, d, q, fs.k.data());
  const int64_t qw = d.n_head * d.kv_w;  // absorbed query row
  per_head_matmul(fs, l.wk_b, q, d.n_head * d.qk, d.qk, fs.q.data(), qw, d.kv_w);
  for (int32_t t = 0; t < n; ++t) {
    for (int64_t h = 0; h < d.n_head; ++h) {
      std::memcpy(fs.q.data() + t * qw + h * d.kv_w + d.kv_lora, q + (t * d.n_head + h) * d.qk + d.nope,
                  static_cast<size_t>(d.rope) * sizeof(float));
    }
  }
  // V is the latent c, the first kv_lora values of each K row: the cache keeps it only once
  // (kv_cache_params::v_in_k, set by the context for MLA-split files).
  const bool v_in_k = fs.kv->params().v_in_k;
  if (!v_in_k) {
    for (int32_t t = 0; t < n; ++t) {
      std::memcpy(fs.v.data() + t * d.kv_lora, fs.k.data() + t * d.kv_w, static_cast<size_t>(d.kv_lora) * sizeof(float));
    }
  }
  fs.kv->store(il, fs.seq, fs.pos0, n, fs.k.data(), d.kv_w, v_in_k ? nullptr : fs.v.data(), d.kv_lora);
  kernels::attention_args a = attention_base(m, fs, d, il);
  a.q = fs.q.data();
  a.q_stride = qw;
  a.out = fs.att.data();
  a.out_stride = d.n_head * d.kv_lora;
  a.n_head_kv = 1;
  a.head_dim_k = static_cast<int>(d.kv_w);
  a.head_dim_v = static_cast<int>(d.kv_lora);
  kernels::attention(a, *fs.pool);
  per_head_matmul(fs, l.wv_b, fs.att.data(), d.n_head * d.kv_lora, d.kv_lora, o, d.n_head * d.v, d.v);
}

// Legacy path: expand c to per-head k_nope and v, plain multi-head attention.
void attention_legacy(const model& m, forward_state& fs, const layer_weights& l, const dims& d, int il) {
  deepseek2_scratch& s = deepseek2_thread_scratch();
  const int32_t n = fs.n;
  float* kva = deepseek2_reserve(s.kva, static_cast<size_t>(n) * d.kv_w);
  project_qkv(m, fs, l, d, fs.q.data(), kva);
  const int64_t kvd_w = d.n_head * (d.nope + d.v);
  float* kvd = deepseek2_reserve(s.kvd, static_cast<size_t>(n) * kvd_w);
  kernels::matmul(l.wkv_b.view, kva, n, d.kv_w, kvd, kvd_w, *fs.pool, *fs.scratch);
  for (int32_t t = 0; t < n; ++t) {
    for (int64_t h = 0; h < d.n_head; ++h) {
      const float* src = kvd + t * kvd_w + h * (d.nope + d.v);
      float* k = fs.k.data() + (t * d.n_head + h) * d.qk;
      std::memcpy(k, src, static_cast<size_t>(d.nope) * sizeof(float));
      std::memcpy(k + d.nope, kva + t * d.kv_w + d.kv_lora, static_cast<size_t>(d.rope) * sizeof(float));
      std::memcpy(fs.v.data() + (t * d.n_head + h) * d.v, src + d.nope, static_cast<size_t>(d.v) * sizeof(float));
    }
  }
  fs.kv->store(il, fs.seq, fs.pos0, n, fs.k.data(), d.n_head * d.qk, fs.v.data(), d.n_head * d.v);
  kernels::attention_args a = attention_base(m, fs, d, il);
  a.q = fs.q.data();
  a.q_stride = d.n_head * d.qk;
  a.out = fs.att.data();
  a.out_stride = d.n_head * d.v;
  a.n_head_kv = static_cast<int>(d.n_head);
  a.head_dim_k = static_cast<int>(d.qk);
  a.head_dim_v = static_cast<int>(d.v);
  kernels::attention(a, *fs.pool);
}

void forward_deepseek2(const model& m, forward_state& fs) {
  const model_hparams& hp = m.hparams();
  const dims d = dims_of(hp);
  deepseek2_scratch& s = deepseek2_thread_scratch();
  for (uint32_t il = fs.layer_begin; il < fs.layer_end; ++il) {
    const layer_weights& l = m.w().layers[il];
    const int i = static_cast<int>(il);
    norm_rows(fs.x.data(), l.attn_norm, fs.xn.data(), fs.n, hp.n_embd, hp.rms_eps);
    const float* o = fs.att.data();
    if (d.mla) {
      float* out = deepseek2_reserve(s.o, static_cast<size_t>(fs.n) * d.n_head * d.v);
      attention_mla(m, fs, l, d, i, out);
      o = out;
    } else {
      attention_legacy(m, fs, l, d, i);
    }
    linear(fs, l.wo, o, fs.n, fs.tmp.data());
    kernels::add(fs.x.data(), fs.tmp.data(), fs.x.data(), int64_t{hp.n_embd} * fs.n);
    if (il < hp.n_layer_dense_lead) {
      ffn_swiglu(m, fs, l);
    } else {
      deepseek2_moe_ffn(m, fs, l);
    }
  }
}

}  // namespace

const architecture k_arch_deepseek2{"deepseek2", false, bind_deepseek2, forward_deepseek2, false};

}  // namespace r1::engine
