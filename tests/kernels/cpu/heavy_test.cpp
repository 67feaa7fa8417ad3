// Larger shapes for the kernels label (excluded from the unit subset): model-like
// matrix sizes, batches, long KV caches, several thread counts.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>

#include "r1/kernels/attention.h"
#include "r1/kernels/matmul.h"
#include "r1/kernels/quants.h"
#include "test_util.h"

namespace r1::kernels {
namespace {

TEST(Heavy, MatmulModelShapesEveryPathAndThreadCount) {
  std::mt19937 rng(51);
  const int64_t rows = 384, cols = 4096, n_cols = 33;
  const auto x = test::random_floats(rng, cols * n_cols);
  for (tensor_type t : {tensor_type::q4_k, tensor_type::q6_k, tensor_type::q8_0, tensor_type::f16, tensor_type::q5_k,
                        tensor_type::q4_0, tensor_type::bf16, tensor_type::f32}) {
    const auto w = test::random_blocks(rng, t, rows * cols);
    const matrix_view mv{t, rows, cols, w.data(), 0};
    const tensor_type vt = vec_dot_type(t);
    std::vector<std::vector<uint8_t>> act(n_cols, std::vector<uint8_t>(row_size(vt, cols)));
    for (int64_t j = 0; j < n_cols; ++j) ASSERT_TRUE(quantize_row(vt, x.data() + j * cols, act[j].data(), cols).ok());
    std::vector<double> ref(rows * n_cols), tol(rows * n_cols);
    for (int64_t j = 0; j < n_cols; ++j)
      for (int64_t r = 0; r < rows; ++r) {
        double scale;
        ref[j * rows + r] = test::reference_dot(t, w.data() + r * row_size(t, cols), act[j].data(), cols, &scale);
        tol[j * rows + r] = 2e-5 * scale + 1e-6;
      }
    for (kernel_path p : test::supported_paths()) {
      ASSERT_TRUE(set_kernel_path(kernel_path_name(p)).ok());
      std::vector<float> first;
      for (int threads : {1, 2, 3}) {
        thread_pool pool(threads);
        scratch s;
        std::vector<float> y(rows * n_cols);
        matmul(mv, x.data(), n_cols, cols, y.data(), rows, pool, s);
        for (size_t k = 0; k < y.size(); ++k)
          ASSERT_NEAR(y[k], ref[k], tol[k]) << type_info(t).name << " " << kernel_path_name(p) << " k=" << k;
        if (first.empty()) first = y;
        for (size_t k = 0; k < y.size(); ++k)
          ASSERT_EQ(std::bit_cast<uint32_t>(y[k]), std::bit_cast<uint32_t>(first[k])) << threads << " threads";
      }
    }
  }
  ASSERT_TRUE(set_kernel_path("auto").ok());
}

TEST(Heavy, AttentionLongCacheMatchesPathsAndReference) {
  std::mt19937 rng(52);
  const int n_head = 8, n_head_kv = 2, dim = 128;
  const int64_t n_kv = 2000;
  const auto q = test::random_floats(rng, 2 * n_head * dim);
  const auto kf = test::random_floats(rng, n_kv * n_head_kv * dim);
  const auto vf = test::random_floats(rng, n_kv * n_head_kv * dim);
  std::vector<uint16_t> k16(kf.size()), v16(vf.size());
  convert_f32_to_f16(kf.data(), k16.data(), static_cast<int64_t>(kf.size()));
  convert_f32_to_f16(vf.data(), v16.data(), static_cast<int64_t>(vf.size()));
  attention_args a;
  a.q = q.data();
  a.q_stride = n_head * dim;
  a.n_q = 2;
  a.n_head = n_head;
  a.n_head_kv = n_head_kv;
  a.head_dim_k = a.head_dim_v = dim;
  a.n_kv = n_kv;
  a.q_pos0 = n_kv - 2;
  a.scale = 1.0f / std::sqrt(static_cast<float>(dim));
  a.k = {tensor_type::f16, k16.data(), sizeof(uint16_t) * n_head_kv * dim, sizeof(uint16_t) * dim};
  a.v = {tensor_type::f16, v16.data(), sizeof(uint16_t) * n_head_kv * dim, sizeof(uint16_t) * dim};
  thread_pool pool(2);
  std::vector<std::vector<float>> outs;
  for (kernel_path p : test::supported_paths()) {
    ASSERT_TRUE(set_kernel_path(kernel_path_name(p)).ok());
    std::vector<float> out(2 * n_head * dim);
    a.out = out.data();
    a.out_stride = n_head * dim;
    attention(a, pool);
    outs.push_back(out);
  }
  ASSERT_TRUE(set_kernel_path("auto").ok());
  for (int64_t i = 0; i < 2; ++i)
    for (int h = 0; h < n_head; ++h) {
      const int hk = h / (n_head / n_head_kv);
      const int64_t vis = a.q_pos0 + i + 1;
      std::vector<double> s(vis);
      double mx = -INFINITY, sum = 0;
      for (int64_t j = 0; j < vis; ++j) {
        double d = 0;
        for (int e = 0; e < dim; ++e)
          d += q[(i * n_head + h) * dim + e] * static_cast<double>(fp16_to_fp32(k16[(j * n_head_kv + hk) * dim + e]));
        s[j] = d * a.scale;
        mx = std::max(mx, s[j]);
      }
      for (auto& v : s) sum += (v = std::exp(v - mx));
      for (int e = 0; e < dim; ++e) {
        double r = 0;
        for (int64_t j = 0; j < vis; ++j) r += s[j] / sum * fp16_to_fp32(v16[(j * n_head_kv + hk) * dim + e]);
        for (const auto& out : outs) ASSERT_NEAR(out[(i * n_head + h) * dim + e], r, 2e-3);
      }
    }
}

}  // namespace
}  // namespace r1::kernels
