#include "reference_forward.h"

#include <cmath>
#include <numbers>

#include "r1/gguf/file.h"
#include "r1/gguf/model_params.h"
#include "r1/kernels/quants.h"

namespace r1::engine::testing {
namespace {

using dvec = std::vector<double>;

struct dmat {
  tensor_type type = tensor_type::f32;
  int64_t rows = 0, cols = 0;
  std::vector<double> v;
  const double* row(int64_t r) const { return v.data() + r * cols; }
};

result<dmat> read_matrix(const gguf::file& f, const std::string& name) {
  const gguf::tensor_info* t = f.find_tensor(name);
  if (t == nullptr) return not_found(name);
  dmat m;
  m.type = t->type;
  m.cols = static_cast<int64_t>(t->ne[0]);
  m.rows = static_cast<int64_t>(t->n_rows());
  m.v.resize(static_cast<size_t>(m.rows * m.cols));
  std::vector<float> tmp(static_cast<size_t>(m.cols));
  const size_t rs = kernels::row_size(t->type, m.cols);
  for (int64_t r = 0; r < m.rows; ++r) {
    R1_RETURN_IF_ERROR(kernels::dequantize_row(t->type, t->data + r * rs, tmp.data(), m.cols));
    for (int64_t c = 0; c < m.cols; ++c) m.v[static_cast<size_t>(r * m.cols + c)] = tmp[static_cast<size_t>(c)];
  }
  return m;
}

result<dvec> read_vector(const gguf::file& f, const std::string& name) {
  R1_ASSIGN_OR_RETURN(dmat m, read_matrix(f, name));
  return m.v;
}

// x rounded through type t (quantize, then dequantize), as a kernel would see it.
dvec round_through(tensor_type t, const dvec& x) {
  if (t == tensor_type::f32) return x;
  std::vector<float> f(x.begin(), x.end()), back(x.size());
  std::vector<uint8_t> q(kernels::row_size(t, static_cast<int64_t>(x.size())));
  const int64_t n = static_cast<int64_t>(x.size());
  if (!kernels::quantize_row(t, f.data(), q.data(), n).ok() || !kernels::dequantize_row(t, q.data(), back.data(), n).ok()) {
    return dvec(x.size(), std::nan(""));
  }
  return dvec(back.begin(), back.end());
}

bool g_mirror = false;

dvec matvec(const dmat& w, const dvec& x_in) {
  const dvec x = g_mirror ? round_through(kernels::vec_dot_type(w.type), x_in) : x_in;
  dvec y(static_cast<size_t>(w.rows), 0.0);
  for (int64_t r = 0; r < w.rows; ++r) {
    double s = 0;
    const double* row = w.row(r);
    for (int64_t c = 0; c < w.cols; ++c) s += row[c] * x[static_cast<size_t>(c)];
    y[static_cast<size_t>(r)] = s;
  }
  return y;
}

dvec rms(const dvec& x, const dvec& w, double eps, size_t off = 0, size_t n = 0) {
  if (n == 0) n = x.size();
  double ss = 0;
  for (size_t i = 0; i < n; ++i) ss += x[off + i] * x[off + i];
  const double scale = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
  dvec y(n);
  for (size_t i = 0; i < n; ++i) y[i] = x[off + i] * scale * w[i];
  return y;
}

struct rope_ref {
  int n_rot;
  bool neox;
  double base, freq_scale, ext_factor, mscale;
  double corr_lo, corr_hi;
  dvec factors;

  void apply(double* head, int32_t pos) const {
    for (int i = 0; i < n_rot / 2; ++i) {
      double extrap = pos * std::pow(base, -2.0 * i / n_rot);
      if (!factors.empty()) extrap /= factors[static_cast<size_t>(i)];
      const double interp = freq_scale * extrap;
      double theta = interp;
      if (ext_factor != 0) {
        const double y = (i - corr_lo) / std::max(0.001, corr_hi - corr_lo);
        const double ramp = (1.0 - std::min(1.0, std::max(0.0, y))) * ext_factor;
        theta = interp * (1 - ramp) + extrap * ramp;
      }
      const double c = std::cos(theta) * mscale, s = std::sin(theta) * mscale;
      const int a = neox ? i : 2 * i;
      const int b = neox ? i + n_rot / 2 : 2 * i + 1;
      const double x0 = head[a], x1 = head[b];
      head[a] = x0 * c - x1 * s;
      head[b] = x0 * s + x1 * c;
    }
  }
};

result<rope_ref> make_rope(const gguf::model_params& p, const gguf::file& f) {
  rope_ref r;
  r.n_rot = static_cast<int>(p.n_rot);
  r.neox = p.arch == "qwen2" || p.arch == "qwen3";
  r.base = p.rope_freq_base;
  const bool yarn = p.rope_scaling_type == gguf::rope_scaling::yarn;
  r.freq_scale = p.rope_freq_scale;
  r.ext_factor = p.yarn_ext_factor >= 0 ? p.yarn_ext_factor : (yarn ? 1.0 : 0.0);
  r.mscale = yarn ? p.rope_attn_factor : 1.0;
  if (r.ext_factor != 0) r.mscale *= 1.0 + 0.1 * std::log(1.0 / r.freq_scale);
  const double n_orig = p.n_ctx_orig_yarn ? p.n_ctx_orig_yarn : p.n_ctx_train;
  auto cd = [&](double b) { return r.n_rot * std::log(n_orig / (b * 2 * std::numbers::pi)) / (2 * std::log(r.base)); };
  r.corr_lo = std::max(0.0, std::floor(cd(p.yarn_beta_fast)));
  r.corr_hi = std::min(static_cast<double>(r.n_rot - 1), std::ceil(cd(p.yarn_beta_slow)));
  if (f.find_tensor("rope_freqs.weight") != nullptr) {
    R1_ASSIGN_OR_RETURN(r.factors, read_vector(f, "rope_freqs.weight"));
  }
  return r;
}

std::string blk(int il, const char* what, const char* suffix = "weight") {
  return "blk." + std::to_string(il) + "." + what + "." + suffix;
}

result<std::vector<dvec>> run(const std::string& path, const std::vector<int32_t>& tokens, bool want_logits,
                              const reference_options& o) {
  g_mirror = o.mirror_quantization;
  R1_ASSIGN_OR_RETURN(gguf::file f, gguf::file::open(path));
  R1_ASSIGN_OR_RETURN(gguf::model_params p, gguf::resolve_params(f));
  R1_ASSIGN_OR_RETURN(rope_ref rope, make_rope(p, f));
  const size_t n = tokens.size();
  const int64_t n_embd = p.n_embd, n_head = p.n_head[0], n_kv = p.n_head_kv[0];
  const int64_t hd = p.n_embd_head_k, hdv = p.n_embd_head_v;
  const double eps = p.rms_eps;
  const double kq_scale = p.attention_scale != 0 ? p.attention_scale : 1.0 / std::sqrt(static_cast<double>(hd));
  R1_ASSIGN_OR_RETURN(dmat embd, read_matrix(f, "token_embd.weight"));
  std::vector<dvec> x(n);
  for (size_t t = 0; t < n; ++t) x[t].assign(embd.row(tokens[t]), embd.row(tokens[t]) + n_embd);
  for (int il = 0; il < static_cast<int>(p.n_layer); ++il) {
    R1_ASSIGN_OR_RETURN(dvec attn_norm, read_vector(f, blk(il, "attn_norm")));
    R1_ASSIGN_OR_RETURN(dmat wq, read_matrix(f, blk(il, "attn_q")));
    R1_ASSIGN_OR_RETURN(dmat wk, read_matrix(f, blk(il, "attn_k")));
    R1_ASSIGN_OR_RETURN(dmat wv, read_matrix(f, blk(il, "attn_v")));
    R1_ASSIGN_OR_RETURN(dmat wo, read_matrix(f, blk(il, "attn_output")));
    dvec bq, bk, bv, qn, kn;
    if (f.find_tensor(blk(il, "attn_q", "bias"))) {
      R1_ASSIGN_OR_RETURN(bq, read_vector(f, blk(il, "attn_q", "bias")));
      R1_ASSIGN_OR_RETURN(bk, read_vector(f, blk(il, "attn_k", "bias")));
      R1_ASSIGN_OR_RETURN(bv, read_vector(f, blk(il, "attn_v", "bias")));
    }
    if (f.find_tensor(blk(il, "attn_q_norm"))) {
      R1_ASSIGN_OR_RETURN(qn, read_vector(f, blk(il, "attn_q_norm")));
      R1_ASSIGN_OR_RETURN(kn, read_vector(f, blk(il, "attn_k_norm")));
    }
    std::vector<dvec> q(n), k(n), v(n);
    for (size_t t = 0; t < n; ++t) {
      dvec a = rms(x[t], attn_norm, eps);
      q[t] = matvec(wq, a);
      k[t] = matvec(wk, a);
      v[t] = matvec(wv, a);
      for (size_t i = 0; i < bq.size(); ++i) q[t][i] += bq[i];
      for (size_t i = 0; i < bk.size(); ++i) k[t][i] += bk[i];
      for (size_t i = 0; i < bv.size(); ++i) v[t][i] += bv[i];
      for (int64_t h = 0; h < n_head; ++h) {
        if (!qn.empty()) {
          dvec r = rms(q[t], qn, eps, static_cast<size_t>(h * hd), static_cast<size_t>(hd));
          std::copy(r.begin(), r.end(), q[t].begin() + h * hd);
        }
        rope.apply(q[t].data() + h * hd, static_cast<int32_t>(t));
      }
      for (int64_t h = 0; h < n_kv; ++h) {
        if (!kn.empty()) {
          dvec r = rms(k[t], kn, eps, static_cast<size_t>(h * hd), static_cast<size_t>(hd));
          std::copy(r.begin(), r.end(), k[t].begin() + h * hd);
        }
        rope.apply(k[t].data() + h * hd, static_cast<int32_t>(t));
      }
      if (o.mirror_quantization) {
        k[t] = round_through(o.kv_type, k[t]);
        v[t] = round_through(o.kv_type, v[t]);
        q[t] = round_through(kernels::vec_dot_type(o.kv_type), q[t]);
      }
    }
    for (size_t t = 0; t < n; ++t) {
      dvec att(static_cast<size_t>(n_head * hdv), 0.0);
      for (int64_t h = 0; h < n_head; ++h) {
        const int64_t g = h / (n_head / n_kv);
        dvec s(t + 1);
        double mx = -1e300;
        for (size_t j = 0; j <= t; ++j) {
          double d = 0;
          for (int64_t c = 0; c < hd; ++c) d += q[t][static_cast<size_t>(h * hd + c)] * k[j][static_cast<size_t>(g * hd + c)];
          s[j] = d * kq_scale;
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (double& e : s) sum += (e = std::exp(e - mx));
        for (size_t j = 0; j <= t; ++j) {
          for (int64_t c = 0; c < hdv; ++c) {
            att[static_cast<size_t>(h * hdv + c)] += s[j] / sum * v[j][static_cast<size_t>(g * hdv + c)];
          }
        }
      }
      dvec proj = matvec(wo, att);
      for (size_t i = 0; i < proj.size(); ++i) x[t][i] += proj[i];
    }
    R1_ASSIGN_OR_RETURN(dvec ffn_norm, read_vector(f, blk(il, "ffn_norm")));
    R1_ASSIGN_OR_RETURN(dmat gate, read_matrix(f, blk(il, "ffn_gate")));
    R1_ASSIGN_OR_RETURN(dmat up, read_matrix(f, blk(il, "ffn_up")));
    R1_ASSIGN_OR_RETURN(dmat down, read_matrix(f, blk(il, "ffn_down")));
    for (size_t t = 0; t < n; ++t) {
      dvec a = rms(x[t], ffn_norm, eps);
      dvec g = matvec(gate, a), u = matvec(up, a);
      for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
      dvec d = matvec(down, g);
      for (size_t i = 0; i < d.size(); ++i) x[t][i] += d[i];
    }
  }
  R1_ASSIGN_OR_RETURN(dvec out_norm, read_vector(f, "output_norm.weight"));
  std::vector<dvec> out(n);
  dmat head;
  if (want_logits) {
    const bool tied = f.find_tensor("output.weight") == nullptr;
    R1_ASSIGN_OR_RETURN(head, read_matrix(f, tied ? "token_embd.weight" : "output.weight"));
  }
  for (size_t t = 0; t < n; ++t) {
    dvec h = rms(x[t], out_norm, eps);
    out[t] = want_logits ? matvec(head, h) : h;
  }
  return out;
}

}  // namespace

result<std::vector<std::vector<double>>> reference_logits(const std::string& path, const std::vector<int32_t>& tokens,
                                                          const reference_options& o) {
  return run(path, tokens, true, o);
}

result<std::vector<std::vector<double>>> reference_hidden(const std::string& path, const std::vector<int32_t>& tokens) {
  return run(path, tokens, false, {});
}

}  // namespace r1::engine::testing
