// Each op on the CPU backend and on every GPU device, on random inputs, against
// a float64 reference written here and against each other. Tolerances are NMSE
// (sum of squared errors over sum of squares) unless stated.
#include <cmath>
#include <cstring>

#include "attention_reference.h"
#include "backend_test_util.h"
#include "r1/kernels/ops.h"
#include "r1/kernels/quants.h"

namespace r1::kernels::testing {
namespace {

// All devices to test: the CPU first, then every GPU.
std::vector<device*> all_devices() {
  std::vector<device*> d{&cpu_device()};
  for (device* g : gpu_devices()) d.push_back(g);
  return d;
}

void note_gpus() {
  if (gpu_devices().empty())
    std::printf("[ NOTE ] no GPU device available: only the CPU backend is checked against the references\n");
}

// ---- matmul ----

struct quantized_matrix {
  std::vector<uint8_t> bytes;
  std::vector<double> deq;  // dequantized values, row-major
};

quantized_matrix make_matrix(tensor_type t, int64_t rows, int64_t cols, uint32_t seed) {
  const auto w = random_floats(static_cast<size_t>(rows * cols), -1.0f, 1.0f, seed);
  quantized_matrix m;
  const size_t rs = row_size(t, cols);
  m.bytes.resize(rs * rows);
  std::vector<float> row(cols);
  for (int64_t r = 0; r < rows; ++r) {
    EXPECT_TRUE(quantize_row(t, w.data() + r * cols, m.bytes.data() + r * rs, cols).ok());
    EXPECT_TRUE(dequantize_row(t, m.bytes.data() + r * rs, row.data(), cols).ok());
    m.deq.insert(m.deq.end(), row.begin(), row.end());
  }
  return m;
}

std::vector<float> run_matmul(device& d, tensor_type t, const quantized_matrix& m, int64_t rows, int64_t cols,
                              const std::vector<float>& x, int64_t n_cols) {
  auto w = upload(d, m.bytes);
  auto xd = upload(d, x);
  auto y = zeros(d, rows * n_cols * 4);
  auto s = d.create_stream();
  EXPECT_TRUE(s.ok());
  matmul_args a{t, rows, cols, w.arg(), xd.arg(), n_cols, cols, y.arg(), rows};
  const status st = s.value()->matmul(a);
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(s.value()->synchronize().ok());
  return download_floats(y, rows * n_cols);
}

class matmul_types : public ::testing::TestWithParam<tensor_type> {};

TEST_P(matmul_types, every_device_matches_reference) {
  note_gpus();
  const tensor_type t = GetParam();
  const int64_t rows = 70, cols = 512;
  const auto m = make_matrix(t, rows, cols, 11);
  // 1..8 columns take the GPUs' matvec kernels, more the tiled GEMM (70 rows: a partial tile).
  for (int64_t n_cols : {1, 5, 8, 9, 67}) {
    const auto x = random_floats(static_cast<size_t>(cols * n_cols), -1.0f, 1.0f, 12);
    std::vector<double> ref(rows * n_cols);
    for (int64_t j = 0; j < n_cols; ++j)
      for (int64_t r = 0; r < rows; ++r) {
        double s = 0;
        for (int64_t k = 0; k < cols; ++k) s += m.deq[r * cols + k] * x[j * cols + k];
        ref[j * rows + r] = s;
      }
    const auto cpu = run_matmul(cpu_device(), t, m, rows, cols, x, n_cols);
    // The CPU converts activations to Q8_0/Q8_K/F16 first: ~1e-5 NMSE.
    EXPECT_LT(nmse(cpu, ref), 5e-4) << "cpu n_cols " << n_cols;
    for (device* g : gpu_devices()) {
      const auto y = run_matmul(*g, t, m, rows, cols, x, n_cols);
      // GPUs dot dequantized weights with f32 activations: only f32 rounding.
      EXPECT_LT(nmse(y, ref), 1e-9) << device_label(*g) << " n_cols " << n_cols;
      EXPECT_LT(nmse(y, cpu), 5e-4) << device_label(*g) << " vs cpu";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(types, matmul_types,
                         ::testing::Values(tensor_type::f32, tensor_type::f16, tensor_type::bf16, tensor_type::q8_0,
                                           tensor_type::q4_0, tensor_type::q4_k, tensor_type::q5_k, tensor_type::q6_k),
                         [](const auto& p) { return std::string(type_info(p.param).name); });

// ---- get_rows ----

class get_rows_types : public ::testing::TestWithParam<tensor_type> {};

TEST_P(get_rows_types, rows_equal_dequantized_rows) {
  const tensor_type t = GetParam();
  const int64_t n_rows = 9, n_embd = 256;
  const auto m = make_matrix(t, n_rows, n_embd, 21);
  const std::vector<int32_t> ids{3, 0, 8, 3};
  for (device* d : all_devices()) {
    auto data = upload(*d, m.bytes);
    auto idt = upload(*d, ids);
    auto dst = zeros(*d, ids.size() * n_embd * 4);
    auto s = d->create_stream().value();
    ASSERT_TRUE(s->get_rows({t, data.arg(), n_rows, n_embd, idt.arg(), 4, dst.arg()}).ok());
    ASSERT_TRUE(s->synchronize().ok());
    const auto y = download_floats(dst, ids.size() * n_embd);
    double worst = 0;
    for (size_t i = 0; i < ids.size(); ++i)
      for (int64_t k = 0; k < n_embd; ++k)
        worst = std::max(worst, std::fabs(y[i * n_embd + k] - m.deq[ids[i] * n_embd + k]));
    EXPECT_LT(worst, 1e-6) << device_label(*d);
  }
}

INSTANTIATE_TEST_SUITE_P(types, get_rows_types,
                         ::testing::Values(tensor_type::f32, tensor_type::f16, tensor_type::bf16, tensor_type::q8_0,
                                           tensor_type::q4_0, tensor_type::q4_k, tensor_type::q5_k, tensor_type::q6_k),
                         [](const auto& p) { return std::string(type_info(p.param).name); });

// ---- element-wise and row ops ----

TEST(backend_ops, rms_norm_with_and_without_weight) {
  const int64_t n = 300, rows = 3, stride = 320;
  const auto x = random_floats(rows * stride, -2.0f, 2.0f, 31);
  const auto w = random_floats(n, 0.5f, 1.5f, 32);
  for (bool with_w : {true, false}) {
    std::vector<double> ref(rows * stride, 0.0);
    for (int64_t r = 0; r < rows; ++r) {
      double ss = 0;
      for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[r * stride + i]) * x[r * stride + i];
      const double k = 1.0 / std::sqrt(ss / n + 1e-5);
      for (int64_t i = 0; i < n; ++i) ref[r * stride + i] = x[r * stride + i] * k * (with_w ? w[i] : 1.0);
    }
    for (device* d : all_devices()) {
      auto xt = upload(*d, x);
      auto wt = upload(*d, w);
      auto yt = zeros(*d, x.size() * 4);
      auto s = d->create_stream().value();
      ASSERT_TRUE(s->rms_norm({xt.arg(), with_w ? wt.arg() : tensor_arg{}, yt.arg(), n, rows, stride, 1e-5f}).ok());
      ASSERT_TRUE(s->synchronize().ok());
      EXPECT_LT(nmse(download_floats(yt, x.size()), ref), 1e-12) << device_label(*d) << " w " << with_w;
    }
  }
}

TEST(backend_ops, add_and_mul_with_broadcast) {
  const int64_t n = 1000, bl = 250;
  const auto a = random_floats(n, -3, 3, 41), b = random_floats(bl, -3, 3, 42);
  for (binary_op op : {binary_op::add, binary_op::mul}) {
    std::vector<float> ref(n);
    for (int64_t i = 0; i < n; ++i) ref[i] = op == binary_op::add ? a[i] + b[i % bl] : a[i] * b[i % bl];
    for (device* d : all_devices()) {
      auto at = upload(*d, a), bt = upload(*d, b), dt = zeros(*d, n * 4);
      auto s = d->create_stream().value();
      ASSERT_TRUE(s->binary({op, at.arg(), bt.arg(), dt.arg(), n, bl}).ok());
      ASSERT_TRUE(s->synchronize().ok());
      EXPECT_EQ(max_abs_diff(download_floats(dt, n), ref), 0.0) << device_label(*d);  // one IEEE op: exact
    }
  }
}

TEST(backend_ops, swiglu) {
  const int64_t n = 777;
  const auto g = random_floats(n, -6, 6, 51), u = random_floats(n, -2, 2, 52);
  std::vector<double> ref(n);
  for (int64_t i = 0; i < n; ++i) ref[i] = g[i] / (1.0 + std::exp(-static_cast<double>(g[i]))) * u[i];
  for (device* d : all_devices()) {
    auto gt = upload(*d, g), ut = upload(*d, u), dt = zeros(*d, n * 4);
    auto s = d->create_stream().value();
    ASSERT_TRUE(s->swiglu({gt.arg(), ut.arg(), dt.arg(), n}).ok());
    ASSERT_TRUE(s->synchronize().ok());
    EXPECT_LT(nmse(download_floats(dt, n), ref), 1e-12) << device_label(*d);
  }
}

TEST(backend_ops, softmax_rows_including_all_masked) {
  const int64_t n = 200, rows = 3;
  auto x = random_floats(rows * n, -5, 5, 61);
  for (int64_t i = 0; i < n; ++i) x[2 * n + i] = -INFINITY;  // row 2: nothing visible
  x[5] = -INFINITY;
  const float scale = 0.7f;
  std::vector<double> ref(rows * n, 0.0);
  for (int64_t r = 0; r < 2; ++r) {
    double m = -INFINITY, sum = 0;
    for (int64_t i = 0; i < n; ++i) m = std::max(m, static_cast<double>(x[r * n + i]) * scale);
    for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(x[r * n + i]) * scale - m);
    for (int64_t i = 0; i < n; ++i) ref[r * n + i] = std::exp(static_cast<double>(x[r * n + i]) * scale - m) / sum;
  }
  for (device* d : all_devices()) {
    auto xt = upload(*d, x);
    auto s = d->create_stream().value();
    ASSERT_TRUE(s->softmax({xt.arg(), n, rows, n, scale}).ok());
    ASSERT_TRUE(s->synchronize().ok());
    const auto y = download_floats(xt, rows * n);
    EXPECT_LT(nmse(y, ref), 1e-12) << device_label(*d);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[2 * n + i], 0.0f) << device_label(*d);
  }
}

// ---- rope ----

struct rope_case {
  const char* name;
  bool neox;
  bool freq_factors;
  float ext_factor;
};

class rope_cases : public ::testing::TestWithParam<rope_case> {};

TEST_P(rope_cases, matches_float64_rotation) {
  const rope_case c = GetParam();
  const int64_t n_tok = 4, n_heads = 3, head_dim = 64;
  const int n_rot = 64;
  const auto x = random_floats(n_tok * n_heads * head_dim, -1, 1, 71);
  const std::vector<int32_t> pos{0, 1, 37, 900};
  const auto ff = random_floats(n_rot / 2, 1.0f, 4.0f, 72);
  rope_args a;
  a.n_tokens = n_tok;
  a.n_heads = n_heads;
  a.head_dim = head_dim;
  a.token_stride = n_heads * head_dim;
  a.n_rot = n_rot;
  a.neox = c.neox;
  a.freq_base = 1000000.0f;
  a.freq_scale = c.ext_factor != 0 ? 0.25f : 1.0f;
  a.ext_factor = c.ext_factor;
  a.n_ctx_orig = 4096;
  // float64 reference: theta_i = pos * base^(-2i/n_rot) [/ ff], YaRN blend as forward-pass.md §5.3.
  float corr[2] = {0, 0};
  if (c.ext_factor != 0) rope_yarn_corr_dims(n_rot, 4096, a.freq_base, 32.0f, 1.0f, corr);
  std::vector<double> ref(x.begin(), x.end());
  for (int64_t t = 0; t < n_tok; ++t)
    for (int64_t h = 0; h < n_heads; ++h)
      for (int i = 0; i < n_rot / 2; ++i) {
        double extrap = pos[t] * std::pow(static_cast<double>(a.freq_base), -2.0 * i / n_rot);
        if (c.freq_factors) extrap /= ff[i];
        const double interp = a.freq_scale * extrap;
        double th = interp, ms = 1.0;
        if (c.ext_factor != 0) {
          const double y = (i - corr[0]) / std::max(0.001, static_cast<double>(corr[1] - corr[0]));
          const double ramp = (1 - std::min(1.0, std::max(0.0, y))) * c.ext_factor;
          th = interp * (1 - ramp) + extrap * ramp;
          ms = 1.0 + 0.1 * std::log(1.0 / a.freq_scale);
        }
        const int64_t base = t * n_heads * head_dim + h * head_dim;
        const int64_t ia = base + (c.neox ? i : 2 * i), ib = base + (c.neox ? i + n_rot / 2 : 2 * i + 1);
        const double x0 = x[ia], x1 = x[ib];
        ref[ia] = (x0 * std::cos(th) - x1 * std::sin(th)) * ms;
        ref[ib] = (x0 * std::sin(th) + x1 * std::cos(th)) * ms;
      }
  std::vector<float> cpu_out;
  for (device* d : all_devices()) {
    auto xt = upload(*d, x), pt = upload(*d, pos), ft = upload(*d, ff);
    a.x = xt.arg();
    a.pos = pt.arg();
    a.freq_factors = c.freq_factors ? ft.arg() : tensor_arg{};
    auto s = d->create_stream().value();
    ASSERT_TRUE(s->rope(a).ok());
    ASSERT_TRUE(s->synchronize().ok());
    const auto y = download_floats(xt, x.size());
    // Positions up to 900 in float: angle rounding dominates (~1e-4 absolute).
    EXPECT_LT(nmse(y, ref), 1e-7) << device_label(*d);
    if (cpu_out.empty()) cpu_out = y;
    else EXPECT_LT(max_abs_diff(y, cpu_out), 2e-3) << device_label(*d) << " vs cpu";
  }
}

INSTANTIATE_TEST_SUITE_P(cases, rope_cases,
                         ::testing::Values(rope_case{"normal", false, false, 0.0f}, rope_case{"neox", true, false, 0.0f},
                                           rope_case{"neox_freq_factors", true, true, 0.0f},
                                           rope_case{"normal_yarn", false, false, 1.0f}),
                         [](const auto& p) { return std::string(p.param.name); });

// ---- KV stores and attention ----

TEST(backend_ops, convert_rows_to_f16_and_f32) {
  const int64_t width = 96, rows = 5, src_stride = 100;
  const auto x = random_floats(rows * src_stride, -100, 100, 81);
  for (tensor_type t : {tensor_type::f16, tensor_type::f32}) {
    const size_t row = row_size(t, width), dst_stride = row + 8;
    std::vector<uint8_t> expect(rows * dst_stride, 0);
    for (int64_t r = 0; r < rows; ++r) {
      if (t == tensor_type::f16) {
        std::vector<uint16_t> h(width);
        convert_f32_to_f16(x.data() + r * src_stride, h.data(), width);
        std::memcpy(expect.data() + r * dst_stride, h.data(), row);
      } else {
        std::memcpy(expect.data() + r * dst_stride, x.data() + r * src_stride, row);
      }
    }
    for (device* d : all_devices()) {
      auto xt = upload(*d, x);
      auto dt = zeros(*d, expect.size());
      auto s = d->create_stream().value();
      ASSERT_TRUE(s->convert_rows({xt.arg(), width, rows, src_stride, t, dt.arg(), dst_stride}).ok());
      ASSERT_TRUE(s->synchronize().ok());
      std::vector<uint8_t> got(expect.size());
      ASSERT_TRUE(dt.buf->download(0, got.data(), got.size()).ok());
      EXPECT_EQ(got, expect) << device_label(*d) << " " << type_info(t).name;  // round to nearest even: exact
    }
  }
}

class attention_cases : public ::testing::TestWithParam<attn_case> {};

TEST_P(attention_cases, matches_float64_softmax) {
  const attn_data data = make_attention_data(GetParam());
  for (device* d : all_devices()) expect_attention_matches(*d, data);
}

INSTANTIATE_TEST_SUITE_P(
    cases, attention_cases,
    ::testing::Values(attn_case{"decode_f16_gqa", tensor_type::f16, tensor_type::f16, 8, 2, 64, 64, 1, 150, 149, true},
                      attn_case{"prompt_f16_causal", tensor_type::f16, tensor_type::f16, 4, 4, 128, 128, 7, 70, 63, true},
                      attn_case{"prompt_f32_gqa", tensor_type::f32, tensor_type::f32, 6, 2, 32, 32, 5, 5, 0, true},
                      attn_case{"mixed_kf16_vf32", tensor_type::f16, tensor_type::f32, 2, 1, 64, 48, 3, 90, 10, false},
                      attn_case{"no_keys", tensor_type::f16, tensor_type::f16, 2, 1, 32, 32, 1, 0, 0, true}),
    [](const auto& p) { return std::string(p.param.name); });

// A whole decode step of a toy block chained on one stream (buffers reused between ops),
// compared between the CPU and each GPU: catches missing barriers between dependent ops.
TEST(backend_ops, chained_block_matches_cpu) {
  const int64_t n_embd = 256, n_ff = 512;
  const auto wn = random_floats(n_embd, 0.8f, 1.2f, 101);
  const auto wg = make_matrix(tensor_type::q4_k, n_ff, n_embd, 102);
  const auto wu = make_matrix(tensor_type::q6_k, n_ff, n_embd, 103);
  const auto wd = make_matrix(tensor_type::q8_0, n_embd, n_ff, 104);
  const auto x0 = random_floats(n_embd, -1, 1, 105);
  auto run = [&](device& d) {
    auto x = upload(d, x0), n = zeros(d, n_embd * 4), w = upload(d, wn);
    auto g = upload(d, wg.bytes), u = upload(d, wu.bytes), dn = upload(d, wd.bytes);
    auto ga = zeros(d, n_ff * 4), ua = zeros(d, n_ff * 4), o = zeros(d, n_embd * 4);
    auto s = d.create_stream().value();
    for (int rep = 0; rep < 3; ++rep) {
      EXPECT_TRUE(s->rms_norm({x.arg(), w.arg(), n.arg(), n_embd, 1, n_embd, 1e-6f}).ok());
      EXPECT_TRUE(s->matmul({tensor_type::q4_k, n_ff, n_embd, g.arg(), n.arg(), 1, n_embd, ga.arg(), n_ff}).ok());
      EXPECT_TRUE(s->matmul({tensor_type::q6_k, n_ff, n_embd, u.arg(), n.arg(), 1, n_embd, ua.arg(), n_ff}).ok());
      EXPECT_TRUE(s->swiglu({ga.arg(), ua.arg(), ga.arg(), n_ff}).ok());
      EXPECT_TRUE(s->matmul({tensor_type::q8_0, n_embd, n_ff, dn.arg(), ga.arg(), 1, n_ff, o.arg(), n_embd}).ok());
      EXPECT_TRUE(s->binary({binary_op::add, x.arg(), o.arg(), x.arg(), n_embd, 0}).ok());
    }
    EXPECT_TRUE(s->synchronize().ok());
    return download_floats(x, n_embd);
  };
  const auto cpu = run(cpu_device());
  for (device* g : gpu_devices()) EXPECT_LT(nmse(run(*g), cpu), 1e-3) << device_label(*g);
}

}  // namespace
}  // namespace r1::kernels::testing
