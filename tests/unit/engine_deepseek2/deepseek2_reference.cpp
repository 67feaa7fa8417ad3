#include "deepseek2_reference.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "r1/gguf/model_files.h"
#include "r1/gguf/model_params.h"
#include "r1/kernels/quants.h"

namespace r1::engine::testing {
namespace {

using dvec = std::vector<double>;

struct dmat {
  int64_t rows = 0, cols = 0;
  dvec v;
  const double* row(int64_t r) const { return v.data() + r * cols; }
};

result<dmat> read_matrix(const gguf::model_files& f, const std::string& name) {
  const gguf::tensor_info* t = f.find_tensor(name);
  if (t == nullptr) return not_found(name);
  dmat m;
  m.cols = static_cast<int64_t>(t->ne[0]);
  m.rows = static_cast<int64_t>(t->n_rows());
  m.v.resize(static_cast<size_t>(m.rows * m.cols));
  std::vector<float> tmp(static_cast<size_t>(m.cols));
  const size_t rs = kernels::row_size(t->type, m.cols);
  for (int64_t r = 0; r < m.rows; ++r) {
    R1_RETURN_IF_ERROR(kernels::dequantize_row(t->type, t->data + r * rs, tmp.data(), m.cols));
    std::copy(tmp.begin(), tmp.end(), m.v.begin() + r * m.cols);
  }
  return m;
}

result<dvec> read_vector(const gguf::model_files& f, const std::string& name) {
  R1_ASSIGN_OR_RETURN(dmat m, read_matrix(f, name));
  return m.v;
}

std::string blk(int il, const char* what, const char* suffix = "weight") {
  return "blk." + std::to_string(il) + "." + what + "." + suffix;
}

// W (rows × cols) · x[off .. off+cols).
dvec matvec(const dmat& w, const dvec& x, size_t off = 0) {
  dvec y(static_cast<size_t>(w.rows), 0.0);
  for (int64_t r = 0; r < w.rows; ++r) {
    double s = 0;
    for (int64_t c = 0; c < w.cols; ++c) s += w.row(r)[c] * x[off + static_cast<size_t>(c)];
    y[static_cast<size_t>(r)] = s;
  }
  return y;
}

dvec rms(const dvec& x, const dvec& w, double eps, size_t off, size_t n) {
  double ss = 0;
  for (size_t i = 0; i < n; ++i) ss += x[off + i] * x[off + i];
  const double k = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
  dvec y(n);
  for (size_t i = 0; i < n; ++i) y[i] = x[off + i] * k * w[i];
  return y;
}

dvec swiglu_ffn(const dmat& gate, const dmat& up, const dmat& down, const dvec& a) {
  dvec g = matvec(gate, a), u = matvec(up, a);
  for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
  return matvec(down, g);
}

// NORM-mode YaRN RoPE on n_rot values at p, magnitude 1 (deepseek2 cancels the YaRN boost on
// cos/sin and moves it into the score scale).
struct rope_ref {
  int n_rot = 0;
  double base = 10000, freq_scale = 1, ext = 0, lo = 0, hi = 0;
  void apply(double* p, int32_t pos) const {
    for (int i = 0; i < n_rot / 2; ++i) {
      const double extrap = pos * std::pow(base, -2.0 * i / n_rot);
      double theta = freq_scale * extrap;
      if (ext != 0) {
        const double ramp = (1.0 - std::clamp((i - lo) / std::max(0.001, hi - lo), 0.0, 1.0)) * ext;
        theta = theta * (1 - ramp) + extrap * ramp;
      }
      const double c = std::cos(theta), s = std::sin(theta), x0 = p[2 * i], x1 = p[2 * i + 1];
      p[2 * i] = x0 * c - x1 * s;
      p[2 * i + 1] = x0 * s + x1 * c;
    }
  }
};

rope_ref make_rope(const gguf::model_params& p) {
  rope_ref r;
  r.n_rot = static_cast<int>(p.n_rot);
  r.base = p.rope_freq_base;
  r.freq_scale = p.rope_freq_scale;
  r.ext = p.effective_ext_factor();
  const double n_orig = p.n_ctx_orig_yarn ? p.n_ctx_orig_yarn : p.n_ctx_train;
  auto cd = [&](double b) { return r.n_rot * std::log(n_orig / (b * 2 * std::numbers::pi)) / (2 * std::log(r.base)); };
  r.lo = std::max(0.0, std::floor(cd(p.yarn_beta_fast)));
  r.hi = std::min(static_cast<double>(r.n_rot - 1), std::ceil(cd(p.yarn_beta_slow)));
  return r;
}

// Expert ids and weights for one token, from the formulas (sigmoid/softmax, selection bias,
// group limit, top-k, normalisation, scale).
void route(const gguf::model_params& p, const dvec& logits, const dvec& bias, std::vector<int>& ids, dvec& w) {
  const size_t n = logits.size();
  dvec probs(n);
  if (p.expert_gating == gguf::gating_func::sigmoid) {
    for (size_t i = 0; i < n; ++i) probs[i] = 1.0 / (1.0 + std::exp(-logits[i]));
  } else if (p.expert_gating == gguf::gating_func::softmax) {
    const double mx = *std::max_element(logits.begin(), logits.end());
    double s = 0;
    for (size_t i = 0; i < n; ++i) s += probs[i] = std::exp(logits[i] - mx);
    for (double& x : probs) x /= s;
  } else {
    probs = logits;
  }
  dvec sel = probs;
  for (size_t i = 0; i < bias.size(); ++i) sel[i] += bias[i];
  if (p.n_expert_groups > 1 && p.n_group_used < p.n_expert_groups) {
    const size_t per = n / p.n_expert_groups;
    std::vector<std::pair<double, size_t>> groups;
    for (size_t g = 0; g < p.n_expert_groups; ++g) {
      dvec part(sel.begin() + static_cast<std::ptrdiff_t>(g * per), sel.begin() + static_cast<std::ptrdiff_t>((g + 1) * per));
      std::sort(part.rbegin(), part.rend());
      groups.push_back({part[0] + (per > 1 ? part[1] : 0.0), g});
    }
    std::stable_sort(groups.begin(), groups.end(), [](auto& a, auto& b) { return a.first > b.first; });
    for (size_t k = p.n_group_used; k < groups.size(); ++k) {
      for (size_t i = 0; i < per; ++i) sel[groups[k].second * per + i] = -INFINITY;
    }
  }
  std::vector<int> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = static_cast<int>(i);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return sel[static_cast<size_t>(a)] > sel[static_cast<size_t>(b)]; });
  ids.assign(order.begin(), order.begin() + p.n_expert_used);
  w.clear();
  for (int e : ids) w.push_back(probs[static_cast<size_t>(e)]);
  if (p.expert_gating == gguf::gating_func::softmax_weight) {
    const double mx = *std::max_element(w.begin(), w.end());
    double s = 0;
    for (double& x : w) s += x = std::exp(x - mx);
    for (double& x : w) x /= s;
  }
  if (p.expert_weights_norm) {
    double s = 0;
    for (double x : w) s += x;
    for (double& x : w) x /= std::max(s, 6.103515625e-5);
  }
  if (p.expert_weights_scale != 0) {
    for (double& x : w) x *= p.expert_weights_scale;
  }
}

struct ctx {
  const gguf::model_files& f;
  const gguf::model_params& p;
  rope_ref rope;
  double kq_scale = 0;
  int64_t n_head = 0, qk = 0, nope = 0, rot = 0, vh = 0, kvl = 0;
  bool mla = false;
};

status attention_layer(const ctx& c, int il, std::vector<dvec>& x) {
  const auto& f = c.f;
  const double eps = c.p.rms_eps;
  R1_ASSIGN_OR_RETURN(dvec attn_norm, read_vector(f, blk(il, "attn_norm")));
  R1_ASSIGN_OR_RETURN(dmat wkv_a, read_matrix(f, blk(il, "attn_kv_a_mqa")));
  R1_ASSIGN_OR_RETURN(dvec kv_norm, read_vector(f, blk(il, "attn_kv_a_norm")));
  R1_ASSIGN_OR_RETURN(dmat wo, read_matrix(f, blk(il, "attn_output")));
  dmat wq_a, wq_b, wq, wkv_b, wk_b, wv_b;
  dvec q_a_norm;
  const bool lora_q = c.p.n_lora_q != 0;
  if (lora_q) {
    R1_ASSIGN_OR_RETURN(wq_a, read_matrix(f, blk(il, "attn_q_a")));
    R1_ASSIGN_OR_RETURN(q_a_norm, read_vector(f, blk(il, "attn_q_a_norm")));
    R1_ASSIGN_OR_RETURN(wq_b, read_matrix(f, blk(il, "attn_q_b")));
  } else {
    R1_ASSIGN_OR_RETURN(wq, read_matrix(f, blk(il, "attn_q")));
  }
  if (c.mla) {
    R1_ASSIGN_OR_RETURN(wk_b, read_matrix(f, blk(il, "attn_k_b")));  // rows h*kvl + r, cols nope
    R1_ASSIGN_OR_RETURN(wv_b, read_matrix(f, blk(il, "attn_v_b")));  // rows h*vh + j, cols kvl
  } else {
    R1_ASSIGN_OR_RETURN(wkv_b, read_matrix(f, blk(il, "attn_kv_b")));
  }
  const size_t n = x.size();
  std::vector<dvec> q(n), k(n), v(n);  // q, k: n_head × qk ([nope | rope]); v: n_head × vh
  for (size_t t = 0; t < n; ++t) {
    const dvec a = rms(x[t], attn_norm, eps, 0, x[t].size());
    if (lora_q) {
      const dvec qa = matvec(wq_a, a);
      q[t] = matvec(wq_b, rms(qa, q_a_norm, eps, 0, qa.size()));
    } else {
      q[t] = matvec(wq, a);
    }
    dvec kv = matvec(wkv_a, a);
    const dvec cn = rms(kv, kv_norm, eps, 0, static_cast<size_t>(c.kvl));
    c.rope.apply(kv.data() + c.kvl, static_cast<int32_t>(t));
    k[t].assign(static_cast<size_t>(c.n_head * c.qk), 0.0);
    v[t].assign(static_cast<size_t>(c.n_head * c.vh), 0.0);
    const dvec kvd = c.mla ? dvec{} : matvec(wkv_b, cn);
    for (int64_t h = 0; h < c.n_head; ++h) {
      c.rope.apply(q[t].data() + h * c.qk + c.nope, static_cast<int32_t>(t));
      double* kh = k[t].data() + h * c.qk;
      double* vhp = v[t].data() + h * c.vh;
      for (int64_t i = 0; i < c.nope; ++i) {
        double s = 0;
        if (c.mla) {
          for (int64_t r = 0; r < c.kvl; ++r) s += wk_b.row(h * c.kvl + r)[i] * cn[static_cast<size_t>(r)];
        } else {
          s = kvd[static_cast<size_t>(h * (c.nope + c.vh) + i)];
        }
        kh[i] = s;
      }
      for (int64_t i = 0; i < c.rot; ++i) kh[c.nope + i] = kv[static_cast<size_t>(c.kvl + i)];
      for (int64_t j = 0; j < c.vh; ++j) {
        double s = 0;
        if (c.mla) {
          for (int64_t r = 0; r < c.kvl; ++r) s += wv_b.row(h * c.vh + j)[r] * cn[static_cast<size_t>(r)];
        } else {
          s = kvd[static_cast<size_t>(h * (c.nope + c.vh) + c.nope + j)];
        }
        vhp[j] = s;
      }
    }
  }
  for (size_t t = 0; t < n; ++t) {
    dvec att(static_cast<size_t>(c.n_head * c.vh), 0.0);
    for (int64_t h = 0; h < c.n_head; ++h) {
      dvec s(t + 1);
      double mx = -1e300;
      for (size_t j = 0; j <= t; ++j) {
        double d = 0;
        for (int64_t i = 0; i < c.qk; ++i) d += q[t][static_cast<size_t>(h * c.qk + i)] * k[j][static_cast<size_t>(h * c.qk + i)];
        mx = std::max(mx, s[j] = d * c.kq_scale);
      }
      double sum = 0;
      for (double& e : s) sum += e = std::exp(e - mx);
      for (size_t j = 0; j <= t; ++j) {
        for (int64_t i = 0; i < c.vh; ++i) att[static_cast<size_t>(h * c.vh + i)] += s[j] / sum * v[j][static_cast<size_t>(h * c.vh + i)];
      }
    }
    const dvec o = matvec(wo, att);
    for (size_t i = 0; i < o.size(); ++i) x[t][i] += o[i];
  }
  return ok_status();
}

status moe_layer(const ctx& c, int il, std::vector<dvec>& x) {
  const auto& f = c.f;
  R1_ASSIGN_OR_RETURN(dvec norm, read_vector(f, blk(il, "ffn_norm")));
  R1_ASSIGN_OR_RETURN(dmat router, read_matrix(f, blk(il, "ffn_gate_inp")));
  dvec bias;
  if (f.find_tensor(blk(il, "exp_probs_b", "bias")) != nullptr) {
    R1_ASSIGN_OR_RETURN(bias, read_vector(f, blk(il, "exp_probs_b", "bias")));
  }
  R1_ASSIGN_OR_RETURN(dmat gate, read_matrix(f, blk(il, "ffn_gate_exps")));
  R1_ASSIGN_OR_RETURN(dmat up, read_matrix(f, blk(il, "ffn_up_exps")));
  R1_ASSIGN_OR_RETURN(dmat down, read_matrix(f, blk(il, "ffn_down_exps")));
  const int64_t nf = c.p.n_ff_exp, ne = c.p.n_embd;
  auto expert = [&](const dmat& m, int e, int64_t rows) {
    dmat s;
    s.rows = rows;
    s.cols = m.cols;
    s.v.assign(m.v.begin() + e * rows * m.cols, m.v.begin() + (e + 1) * rows * m.cols);
    return s;
  };
  dmat sg, su, sd;
  const bool shared = c.p.n_expert_shared != 0;
  if (shared) {
    R1_ASSIGN_OR_RETURN(sg, read_matrix(f, blk(il, "ffn_gate_shexp")));
    R1_ASSIGN_OR_RETURN(su, read_matrix(f, blk(il, "ffn_up_shexp")));
    R1_ASSIGN_OR_RETURN(sd, read_matrix(f, blk(il, "ffn_down_shexp")));
  }
  for (dvec& xt : x) {
    const dvec a = rms(xt, norm, c.p.rms_eps, 0, xt.size());
    std::vector<int> ids;
    dvec w;
    route(c.p, matvec(router, a), bias, ids, w);
    dvec y(static_cast<size_t>(ne), 0.0);
    for (size_t k = 0; k < ids.size(); ++k) {
      const dvec o = swiglu_ffn(expert(gate, ids[k], nf), expert(up, ids[k], nf), expert(down, ids[k], ne), a);
      for (size_t i = 0; i < y.size(); ++i) y[i] += w[k] * o[i];
    }
    if (shared) {
      const dvec o = swiglu_ffn(sg, su, sd, a);
      for (size_t i = 0; i < y.size(); ++i) y[i] += o[i];
    }
    for (size_t i = 0; i < y.size(); ++i) xt[i] += y[i];
  }
  return ok_status();
}

status dense_layer(const ctx& c, int il, std::vector<dvec>& x) {
  R1_ASSIGN_OR_RETURN(dvec norm, read_vector(c.f, blk(il, "ffn_norm")));
  R1_ASSIGN_OR_RETURN(dmat gate, read_matrix(c.f, blk(il, "ffn_gate")));
  R1_ASSIGN_OR_RETURN(dmat up, read_matrix(c.f, blk(il, "ffn_up")));
  R1_ASSIGN_OR_RETURN(dmat down, read_matrix(c.f, blk(il, "ffn_down")));
  for (dvec& xt : x) {
    const dvec o = swiglu_ffn(gate, up, down, rms(xt, norm, c.p.rms_eps, 0, xt.size()));
    for (size_t i = 0; i < o.size(); ++i) xt[i] += o[i];
  }
  return ok_status();
}

}  // namespace

result<std::vector<std::vector<double>>> deepseek2_reference_logits(const std::string& path,
                                                                    const std::vector<int32_t>& tokens) {
  R1_ASSIGN_OR_RETURN(gguf::model_files f, gguf::model_files::open(path));
  R1_ASSIGN_OR_RETURN(gguf::model_params p, gguf::resolve_params(f.metadata()));
  ctx c{f, p, make_rope(p)};
  c.mla = p.is_mla();
  c.n_head = p.n_head[0];
  c.qk = c.mla ? p.n_embd_head_k_mla : p.n_embd_head_k;
  c.vh = c.mla ? p.n_embd_head_v_mla : p.n_embd_head_v;
  c.rot = p.n_rot;
  c.nope = c.qk - c.rot;
  c.kvl = p.n_lora_kv;
  // Score scale: mscale² / sqrt(qk head), mscale = attn_factor · (1 + 0.1 · log_mul · ln s).
  const double attn_factor = c.rope.ext != 0 ? p.rope_attn_factor : 1.0;
  const double mscale = attn_factor * (1.0 + 0.1 * p.yarn_log_multiplier * std::log(1.0 / p.rope_freq_scale));
  c.kq_scale = mscale * mscale / std::sqrt(static_cast<double>(c.qk));
  R1_ASSIGN_OR_RETURN(dmat embd, read_matrix(f, "token_embd.weight"));
  std::vector<dvec> x;
  for (int32_t t : tokens) x.emplace_back(embd.row(t), embd.row(t) + embd.cols);
  for (int il = 0; il < static_cast<int>(p.n_layer); ++il) {
    R1_RETURN_IF_ERROR(attention_layer(c, il, x));
    if (static_cast<uint32_t>(il) < p.n_layer_dense_lead) {
      R1_RETURN_IF_ERROR(dense_layer(c, il, x));
    } else {
      R1_RETURN_IF_ERROR(moe_layer(c, il, x));
    }
  }
  R1_ASSIGN_OR_RETURN(dvec out_norm, read_vector(f, "output_norm.weight"));
  R1_ASSIGN_OR_RETURN(dmat head, read_matrix(f, "output.weight"));
  std::vector<dvec> out;
  for (const dvec& xt : x) out.push_back(matvec(head, rms(xt, out_norm, p.rms_eps, 0, xt.size())));
  return out;
}

}  // namespace r1::engine::testing
