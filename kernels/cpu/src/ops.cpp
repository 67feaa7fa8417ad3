// Row operations of the forward pass. Plain loops written so the compiler can
// vectorise them for the baseline target (results path independent), except
// exp, SiLU/SwiGLU and softmax, which use the active path's vector exp
// (vec_ops_*.cpp: within 2 ulp of std::exp, so paths agree to float rounding).
#include "r1/kernels/ops.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "r1/base/assert.h"
#include "r1/kernels/quants.h"
#include "vec_ops.h"

namespace r1::kernels {

void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
  const float mean = static_cast<float>(sum / static_cast<double>(n));
  const float s = 1.0f / std::sqrt(mean + eps);
  if (w) {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] * s) * w[i];
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * s;
  }
}

void add(const float* a, const float* b, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = a[i] + b[i];
}

void mul(const float* a, const float* b, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = a[i] * b[i];
}

void scale(const float* a, float s, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = a[i] * s;
}

void add_scaled(const float* a, float s, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] += a[i] * s;
}

void exp_row(const float* x, float* dst, int64_t n) { detail::active_vec_ops().exp_row(x, dst, n); }

void silu(const float* x, float* dst, int64_t n) { detail::active_vec_ops().silu(x, dst, n); }

void swiglu(const float* gate, const float* up, float* dst, int64_t n) {
  detail::active_vec_ops().swiglu(gate, up, dst, n);
}

void swiglu(const float* gate, const float* up, float* dst, int64_t n, thread_pool& pool) {
  constexpr int64_t k_chunk = 16384;  // a multiple of every vector width
  const int64_t tasks = (n + k_chunk - 1) / k_chunk;
  if (tasks <= 1 || pool.size() == 1) return swiglu(gate, up, dst, n);
  pool.run(static_cast<int>(tasks), [&](int t, int) {
    const int64_t b = t * k_chunk, e = std::min(n, b + k_chunk);
    swiglu(gate + b, up + b, dst + b, e - b);
  });
}

void softmax(float* x, int64_t n, float scale_by) { detail::active_vec_ops().softmax(x, n, scale_by); }

status get_rows(tensor_type t, const void* data, size_t row_stride_bytes, int64_t n_rows, int64_t n_embd,
                const int32_t* ids, int64_t n_ids, float* dst) {
  if (!can_dequantize(t)) return invalid_argument("get_rows: unsupported type " + std::string(type_info(t).name));
  const size_t stride = row_stride_bytes ? row_stride_bytes : row_size(t, n_embd);
  for (int64_t i = 0; i < n_ids; ++i) {
    if (ids[i] < 0 || ids[i] >= n_rows)
      return invalid_argument("get_rows: id " + std::to_string(ids[i]) + " is outside [0, " +
                              std::to_string(n_rows) + ")");
    const auto* row = static_cast<const uint8_t*>(data) + static_cast<size_t>(ids[i]) * stride;
    R1_RETURN_IF_ERROR(dequantize_row(t, row, dst + i * n_embd, n_embd));
  }
  return ok_status();
}

void rope_yarn_corr_dims(int n_rot, int n_ctx_orig, float freq_base, float beta_fast, float beta_slow,
                         float dims[2]) {
  auto corr_dim = [&](float beta) {
    return static_cast<float>(n_rot) *
           std::log(static_cast<float>(n_ctx_orig) / (beta * 2.0f * static_cast<float>(M_PI))) /
           (2.0f * std::log(freq_base));
  };
  const float start = std::floor(corr_dim(beta_fast));
  const float end = std::ceil(corr_dim(beta_slow));
  dims[0] = std::fmax(0.0f, start);
  dims[1] = std::fmin(static_cast<float>(n_rot - 1), end);
}

namespace {

// cos/sin per pair for one position, as ggml's rope cache (running theta product).
void rope_cache(float pos, const rope_params& p, const float corr[2], float* cs) {
  const float theta_scale = std::pow(p.freq_base, -2.0f / static_cast<float>(p.n_rot));
  float mscale = p.attn_factor;
  if (p.ext_factor != 0.0f) mscale *= 1.0f + 0.1f * std::log(1.0f / p.freq_scale);
  float theta = pos;
  for (int i = 0; i < p.n_rot / 2; ++i) {
    const float ff = p.freq_factors ? p.freq_factors[i] : 1.0f;
    const float extrap = theta / ff;
    const float interp = p.freq_scale * extrap;
    float t = interp;
    if (p.ext_factor != 0.0f) {
      const float y = (static_cast<float>(i) - corr[0]) / std::fmax(0.001f, corr[1] - corr[0]);
      const float ramp = (1.0f - std::fmin(1.0f, std::fmax(0.0f, y))) * p.ext_factor;
      t = interp * (1.0f - ramp) + extrap * ramp;
    }
    cs[2 * i] = std::cos(t) * mscale;
    cs[2 * i + 1] = std::sin(t) * mscale;
    theta *= theta_scale;
  }
}

}  // namespace

void rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, int64_t token_stride, const int32_t* pos,
          const rope_params& p) {
  R1_ASSERT(p.n_rot > 0 && p.n_rot % 2 == 0 && p.n_rot <= head_dim && p.n_rot <= 1024);
  float corr[2] = {0.0f, 0.0f};
  if (p.ext_factor != 0.0f)
    rope_yarn_corr_dims(p.n_rot, p.n_ctx_orig, p.freq_base, p.beta_fast, p.beta_slow, corr);
  float cs[1024];
  const int half = p.n_rot / 2;
  for (int64_t t = 0; t < n_tokens; ++t) {
    rope_cache(static_cast<float>(pos[t]), p, corr, cs);
    for (int64_t h = 0; h < n_heads; ++h) {
      float* v = x + t * token_stride + h * head_dim;
      for (int i = 0; i < half; ++i) {
        const int64_t a = p.neox ? i : 2 * i;
        const int64_t b = p.neox ? i + half : 2 * i + 1;
        const float x0 = v[a], x1 = v[b];
        v[a] = x0 * cs[2 * i] - x1 * cs[2 * i + 1];
        v[b] = x0 * cs[2 * i + 1] + x1 * cs[2 * i];
      }
    }
  }
}

}  // namespace r1::kernels
