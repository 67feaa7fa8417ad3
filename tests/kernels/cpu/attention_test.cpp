// Attention against a float64 softmax(QKᵀ·scale + causal mask)·V reference.
#include <gtest/gtest.h>

#include <cmath>

#include "r1/kernels/attention.h"
#include "r1/kernels/quants.h"
#include "test_util.h"

namespace r1::kernels {
namespace {

struct att_case {
  tensor_type kt, vt;
  int n_head, n_head_kv, dk, dv;
  int64_t n_q, n_kv, q_pos0;
  bool causal;
  double tol;  // absolute, values are O(1)
};

void run_case(const att_case& c, int threads = 2, std::vector<float>* result = nullptr) {
  std::mt19937 rng(41);
  const auto q = test::random_floats(rng, c.n_q * c.n_head * c.dk);
  const auto kf = test::random_floats(rng, c.n_kv * c.n_head_kv * c.dk);
  const auto vf = test::random_floats(rng, c.n_kv * c.n_head_kv * c.dv);
  // Cache layout: [position][kv head][dim], rows stored in the cache type.
  const size_t krow = row_size(c.kt, c.dk), vrow = row_size(c.vt, c.dv);
  std::vector<uint8_t> kc(krow * c.n_kv * c.n_head_kv), vc(vrow * c.n_kv * c.n_head_kv);
  for (int64_t r = 0; r < c.n_kv * c.n_head_kv; ++r) {
    ASSERT_TRUE(quantize_row(c.kt, kf.data() + r * c.dk, kc.data() + r * krow, c.dk).ok());
    ASSERT_TRUE(quantize_row(c.vt, vf.data() + r * c.dv, vc.data() + r * vrow, c.dv).ok());
  }
  std::vector<float> out(c.n_q * c.n_head * c.dv, NAN);
  attention_args a;
  a.q = q.data();
  a.q_stride = c.n_head * c.dk;
  a.out = out.data();
  a.out_stride = c.n_head * c.dv;
  a.n_q = c.n_q;
  a.n_head = c.n_head;
  a.n_head_kv = c.n_head_kv;
  a.head_dim_k = c.dk;
  a.head_dim_v = c.dv;
  a.n_kv = c.n_kv;
  a.q_pos0 = c.q_pos0;
  a.causal = c.causal;
  a.scale = 1.0f / std::sqrt(static_cast<float>(c.dk));
  a.k = {c.kt, kc.data(), krow * c.n_head_kv, krow};
  a.v = {c.vt, vc.data(), vrow * c.n_head_kv, vrow};
  thread_pool pool(threads);
  attention(a, pool);
  if (result) *result = out;

  for (int64_t i = 0; i < c.n_q; ++i) {
    for (int h = 0; h < c.n_head; ++h) {
      const int hk = h / (c.n_head / c.n_head_kv);
      const int64_t vis = std::max<int64_t>(0, c.causal ? std::min(c.n_kv, c.q_pos0 + i + 1) : c.n_kv);
      std::vector<double> s(static_cast<size_t>(vis));
      double mx = -INFINITY;
      for (int64_t j = 0; j < vis; ++j) {
        const auto kd = test::reference_dequantize(c.kt, kc.data() + (j * c.n_head_kv + hk) * krow, c.dk);
        double dot = 0;
        for (int d = 0; d < c.dk; ++d) dot += q[(i * c.n_head + h) * c.dk + d] * kd[d];
        s[j] = dot * a.scale;
        mx = std::max(mx, s[j]);
      }
      double sum = 0;
      for (auto& v : s) sum += (v = std::exp(v - mx));
      std::vector<double> ref(c.dv, 0.0);
      for (int64_t j = 0; j < vis; ++j) {
        const auto vd = test::reference_dequantize(c.vt, vc.data() + (j * c.n_head_kv + hk) * vrow, c.dv);
        for (int d = 0; d < c.dv; ++d) ref[d] += s[j] / sum * vd[d];
      }
      for (int d = 0; d < c.dv; ++d) {
        const float got = out[(i * c.n_head + h) * c.dv + d];
        if (vis == 0) ASSERT_EQ(got, 0.0f);
        else ASSERT_NEAR(got, ref[d], c.tol) << type_info(c.kt).name << "/" << type_info(c.vt).name << " q" << i
                                             << " h" << h << " d" << d;
      }
    }
  }
}

TEST(Attention, F32CacheGqaCausalManyTiles) {
  run_case({tensor_type::f32, tensor_type::f32, 4, 2, 64, 64, 3, 150, 147, true, 2e-5});
}

TEST(Attention, F16CacheDecode) {
  run_case({tensor_type::f16, tensor_type::f16, 6, 2, 128, 128, 1, 300, 299, true, 3e-3});
}

TEST(Attention, Q8_0CacheAndDifferentKvDims) {
  run_case({tensor_type::q8_0, tensor_type::q8_0, 2, 1, 96, 64, 2, 70, 68, true, 3e-2});
}

TEST(Attention, MixedCacheTypesNonCausal) {
  run_case({tensor_type::f16, tensor_type::f32, 3, 3, 32, 32, 4, 65, 0, false, 3e-3});
}

TEST(Attention, CausalPrefixGrowsWithTheQueryPosition) {
  // A prompt batch at positions 0..4 sees keys 0..i.
  run_case({tensor_type::f32, tensor_type::f32, 2, 1, 32, 32, 5, 5, 0, true, 2e-5});
}

TEST(Attention, QueriesThatSeeNoKeyGetZerosAndLateQueriesAreCapped) {
  // Positions -2, -1 see nothing; 0.. see growing prefixes; positions past n_kv see all keys.
  run_case({tensor_type::f16, tensor_type::f16, 2, 2, 32, 32, 12, 8, -2, true, 3e-3});
}

// Absorbed-MLA decode shape: 16 heads on one KV head of 576/512 dims, a cache long
// enough that the key range is split into chunks and merged.
TEST(Attention, MlaShapeSplitKeysMatchesReference) {
  run_case({tensor_type::f16, tensor_type::f16, 16, 1, 576, 512, 1, 1100, 1099, true, 3e-3});
}

TEST(Attention, ResultsDoNotDependOnTheThreadCount) {
  const att_case c{tensor_type::f16, tensor_type::f16, 12, 2, 128, 128, 1, 1500, 1499, true, 3e-3};
  std::vector<float> one, three;
  run_case(c, 1, &one);
  run_case(c, 3, &three);
  ASSERT_EQ(one.size(), three.size());
  for (size_t i = 0; i < one.size(); ++i) ASSERT_EQ(one[i], three[i]) << i;
}

}  // namespace
}  // namespace r1::kernels
