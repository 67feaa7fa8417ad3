// Row ops against float64 references written from forward-pass.md §1 and §5.3.
#include <gtest/gtest.h>

#include <cmath>

#include "r1/kernels/ops.h"
#include "r1/kernels/quants.h"
#include "test_util.h"

namespace r1::kernels {
namespace {

TEST(Ops, RmsNormWithWeight) {
  std::mt19937 rng(31);
  const int64_t n = 1536;
  const auto x = test::random_floats(rng, n, 3.0f);
  const auto w = test::random_floats(rng, n);
  std::vector<float> y(n), y_no_w(n);
  rms_norm(x.data(), w.data(), y.data(), n, 1e-6f);
  rms_norm(x.data(), nullptr, y_no_w.data(), n, 1e-6f);
  double ss = 0;
  for (float v : x) ss += static_cast<double>(v) * v;
  const double s = 1.0 / std::sqrt(ss / n + 1e-6);
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_NEAR(y[i], x[i] * s * w[i], 1e-6 * std::fabs(x[i] * s * w[i]) + 1e-7);
    EXPECT_NEAR(y_no_w[i], x[i] * s, 1e-6 * std::fabs(x[i] * s) + 1e-7);
  }
  // In place.
  auto z = x;
  rms_norm(z.data(), w.data(), z.data(), n, 1e-6f);
  EXPECT_EQ(z, y);
}

TEST(Ops, SoftmaxScaledAndMasked) {
  std::vector<float> x = {1.0f, 2.0f, -INFINITY, 0.5f, 30.0f};
  softmax(x.data(), 5, 0.5f);
  const double e[5] = {0.5, 1.0, -INFINITY, 0.25, 15.0};
  double sum = 0;
  for (double v : e) sum += std::exp(v - 15.0);
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(x[i], std::exp(e[i] - 15.0) / sum, 1e-7);
  EXPECT_EQ(x[2], 0.0f);
  std::vector<float> all_masked(4, -INFINITY);
  softmax(all_masked.data(), 4);
  for (float v : all_masked) EXPECT_EQ(v, 0.0f);
}

TEST(Ops, SiluSwigluAddMulScale) {
  std::mt19937 rng(32);
  const int64_t n = 1001;
  const auto g = test::random_floats(rng, n, 4.0f);
  const auto u = test::random_floats(rng, n);
  std::vector<float> s(n), sw(n), a(n), m(n), sc(n), as = u;
  silu(g.data(), s.data(), n);
  swiglu(g.data(), u.data(), sw.data(), n);
  add(g.data(), u.data(), a.data(), n);
  mul(g.data(), u.data(), m.data(), n);
  scale(g.data(), 0.25f, sc.data(), n);
  add_scaled(g.data(), 2.0f, as.data(), n);
  for (int64_t i = 0; i < n; ++i) {
    const double sl = g[i] / (1.0 + std::exp(-static_cast<double>(g[i])));
    EXPECT_NEAR(s[i], sl, 2e-6 * std::fabs(sl) + 1e-7);
    EXPECT_NEAR(sw[i], sl * u[i], 3e-6 * std::fabs(sl * u[i]) + 1e-7);
    EXPECT_EQ(a[i], g[i] + u[i]);
    EXPECT_EQ(m[i], g[i] * u[i]);
    EXPECT_EQ(sc[i], g[i] * 0.25f);
    EXPECT_NEAR(as[i], u[i] + 2.0 * g[i], 1e-6);
  }
}

TEST(Ops, GetRowsFromEveryType) {
  std::mt19937 rng(33);
  for (tensor_type t : test::dot_types()) {
    const int64_t n_embd = 512, n_rows = 7;
    const auto w = test::random_blocks(rng, t, n_embd * n_rows);
    const int32_t ids[3] = {6, 0, 3};
    std::vector<float> out(3 * n_embd);
    ASSERT_TRUE(get_rows(t, w.data(), 0, n_rows, n_embd, ids, 3, out.data()).ok());
    const size_t rb = row_size(t, n_embd);
    for (int i = 0; i < 3; ++i) {
      const auto ref = test::reference_dequantize(t, w.data() + ids[i] * rb, n_embd);
      for (int64_t k = 0; k < n_embd; ++k)
        ASSERT_NEAR(out[i * n_embd + k], ref[k], std::fabs(ref[k]) * 3e-7 + 1e-30) << type_info(t).name;
    }
    const int32_t bad[1] = {7};
    EXPECT_EQ(get_rows(t, w.data(), 0, n_rows, n_embd, bad, 1, out.data()).code(), error_code::invalid_argument);
  }
}

// float64 RoPE straight from the formulas (direct powers, no running product).
void rope_reference(std::vector<double>& v, int64_t head_dim, int pos, const rope_params& p) {
  const int half = p.n_rot / 2;
  double lo = 0, hi = 0;
  if (p.ext_factor != 0) {
    auto cd = [&](double b) { return p.n_rot * std::log(p.n_ctx_orig / (b * 2 * M_PI)) / (2 * std::log(p.freq_base)); };
    lo = std::max(0.0, std::floor(cd(p.beta_fast)));
    hi = std::min(static_cast<double>(p.n_rot - 1), std::ceil(cd(p.beta_slow)));
  }
  double mscale = p.attn_factor;
  if (p.ext_factor != 0) mscale *= 1 + 0.1 * std::log(1.0 / p.freq_scale);
  for (int64_t h0 = 0; h0 < static_cast<int64_t>(v.size()); h0 += head_dim) {
    for (int i = 0; i < half; ++i) {
      double extrap = pos * std::pow(static_cast<double>(p.freq_base), -2.0 * i / p.n_rot);
      if (p.freq_factors) extrap /= p.freq_factors[i];
      const double interp = p.freq_scale * extrap;
      double theta = interp;
      if (p.ext_factor != 0) {
        const double ramp = (1 - std::clamp((i - lo) / std::max(0.001, hi - lo), 0.0, 1.0)) * p.ext_factor;
        theta = interp * (1 - ramp) + extrap * ramp;
      }
      const int64_t a = h0 + (p.neox ? i : 2 * i), b = h0 + (p.neox ? i + half : 2 * i + 1);
      const double x0 = v[a], x1 = v[b];
      v[a] = (x0 * std::cos(theta) - x1 * std::sin(theta)) * mscale;
      v[b] = (x0 * std::sin(theta) + x1 * std::cos(theta)) * mscale;
    }
  }
}

void check_rope(const rope_params& p, int64_t head_dim, int64_t n_heads) {
  std::mt19937 rng(34);
  const int32_t pos[4] = {0, 1, 17, 777};
  const int64_t row = n_heads * head_dim + 5;  // padded token stride
  auto x = test::random_floats(rng, 4 * row);
  const auto orig = x;
  rope(x.data(), 4, n_heads, head_dim, row, pos, p);
  for (int t = 0; t < 4; ++t) {
    std::vector<double> ref(orig.begin() + t * row, orig.begin() + t * row + n_heads * head_dim);
    rope_reference(ref, head_dim, pos[t], p);
    // ggml's running product of theta drifts by ~1 ulp per pair: allow it.
    const double tol = 2e-7 * pos[t] * p.n_rot + 2e-6;
    for (int64_t k = 0; k < n_heads * head_dim; ++k)
      ASSERT_NEAR(x[t * row + k], ref[k], tol) << "token " << t << " elem " << k;
    for (int k = 0; k < 5; ++k) ASSERT_EQ(x[t * row + n_heads * head_dim + k], orig[t * row + n_heads * head_dim + k]);
  }
}

TEST(Rope, NormAndNeox) {
  rope_params p;
  p.n_rot = 64;
  p.freq_base = 10000.0f;
  check_rope(p, 64, 3);
  p.neox = true;
  check_rope(p, 64, 3);
}

TEST(Rope, PartialRotationLeavesTailUnchanged) {
  rope_params p;
  p.n_rot = 32;
  p.neox = true;
  std::vector<float> x(64, 1.0f);
  const int32_t pos = 5;
  rope(x.data(), 1, 1, 64, 64, &pos, p);
  for (int k = 32; k < 64; ++k) EXPECT_EQ(x[k], 1.0f);
  check_rope(p, 64, 2);
}

TEST(Rope, FrequencyFactors) {
  std::vector<float> ff(64);
  for (int i = 0; i < 64; ++i) ff[i] = 1.0f + static_cast<float>(i % 8);
  rope_params p;
  p.n_rot = 128;
  p.freq_base = 500000.0f;
  p.freq_factors = ff.data();
  check_rope(p, 128, 2);
}

TEST(Rope, YarnDeepSeekNumbers) {
  float dims[2];
  rope_yarn_corr_dims(64, 4096, 10000.0f, 32.0f, 1.0f, dims);
  EXPECT_EQ(dims[0], 10.0f);
  EXPECT_EQ(dims[1], 23.0f);
  rope_params p;
  p.n_rot = 64;
  p.freq_base = 10000.0f;
  p.freq_scale = 1.0f / 40.0f;
  p.ext_factor = 1.0f;
  p.attn_factor = 1.0f / (1.0f + 0.1f * std::log(40.0f));
  p.n_ctx_orig = 4096;
  check_rope(p, 64, 2);
  p.neox = true;
  check_rope(p, 64, 2);
}

}  // namespace
}  // namespace r1::kernels
