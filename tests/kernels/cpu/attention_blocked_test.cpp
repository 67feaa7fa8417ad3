// The blocked prompt attention and the vector exp / SiLU / softmax on every
// kernel path, against float64 references written here: odd shapes (queries
// not a multiple of the block, key tails, GQA groups of 1/2/6/8 and of more
// heads than one task holds), head dims 64/128/192 and the deepseek2 MLA shape
// (576/512, one KV head), causal and not, a continued prompt (q_pos0 > 0), every
// K/V cache type.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>

#include "r1/kernels/attention.h"
#include "r1/kernels/cpu_features.h"
#include "r1/kernels/ops.h"
#include "r1/kernels/quants.h"
#include "test_util.h"

namespace r1::kernels {
namespace {

// Distance in representable floats between two non-negative floats.
int64_t ulp_distance(float a, float b) {
  return std::llabs(static_cast<int64_t>(std::bit_cast<uint32_t>(a)) - static_cast<int64_t>(std::bit_cast<uint32_t>(b)));
}

TEST(VecExp, WithinTwoUlpOfStdExpOnEveryPath) {
  test::path_guard guard;
  // Every 2^-12 step over the whole range where e^x is a finite non-zero float,
  // plus points near the ends, the rounding boundaries of n and zero.
  std::vector<float> x;
  for (double v = -104.0; v <= 88.75; v += 1.0 / 4096) x.push_back(static_cast<float>(v));
  for (float v : {-103.97f, -103.2789f, -87.3365f, -87.33655f, -0.34657359f, 0.34657359f, -0.0f, 0.0f, 1e-30f,
                  -1e-30f, 88.7228f, 88.72283f, 88.72284f})
    x.push_back(v);
  std::vector<float> ref(x.size());
  for (size_t i = 0; i < x.size(); ++i) ref[i] = std::exp(x[i]);
  for (kernel_path p : test::supported_paths()) {
    ASSERT_TRUE(set_kernel_path(kernel_path_name(p)).ok());
    std::vector<float> got(x.size());
    exp_row(x.data(), got.data(), static_cast<int64_t>(x.size()));
    int64_t worst = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const int64_t d = ulp_distance(got[i], ref[i]);
      ASSERT_LE(d, 2) << kernel_path_name(p) << " x=" << x[i] << " got " << got[i] << " want " << ref[i];
      worst = std::max(worst, d);
    }
    std::printf("exp on %s: worst %lld ulp over %zu points\n", kernel_path_name(p), static_cast<long long>(worst),
                x.size());
    const float special[] = {-INFINITY, INFINITY, NAN, -1000.0f, 1000.0f, 0.0f, 89.0f, -104.5f};
    float out[8];
    exp_row(special, out, 8);
    EXPECT_EQ(out[0], 0.0f);
    EXPECT_EQ(out[1], INFINITY);
    EXPECT_TRUE(std::isnan(out[2]));
    EXPECT_EQ(out[3], 0.0f);
    EXPECT_EQ(out[4], INFINITY);
    EXPECT_EQ(out[5], 1.0f);
    EXPECT_EQ(out[6], INFINITY);
    EXPECT_EQ(out[7], 0.0f);
  }
}

// The pool variant splits a prompt's gate into chunks: the same bits as one call, on every path.
TEST(VecExp, SwigluOnThePoolEqualsOneCall) {
  test::path_guard guard;
  std::mt19937 rng(62);
  const int64_t n = 3 * 16384 + 4099;  // several chunks and a tail that is no whole vector
  const auto gate = test::random_floats(rng, n, 6.0f);
  const auto up = test::random_floats(rng, n);
  thread_pool pool(2);
  for (kernel_path p : test::supported_paths()) {
    ASSERT_TRUE(set_kernel_path(kernel_path_name(p)).ok());
    std::vector<float> one(n), split = gate;
    swiglu(gate.data(), up.data(), one.data(), n);
    swiglu(split.data(), up.data(), split.data(), n, pool);
    ASSERT_EQ(split, one) << kernel_path_name(p);
  }
}

TEST(VecExp, SwigluSiluAndSoftmaxMatchFloat64OnEveryPath) {
  test::path_guard guard;
  std::mt19937 rng(61);
  const int64_t n = 4099;  // not a multiple of any vector width
  auto gate = test::random_floats(rng, n, 6.0f);
  const auto up = test::random_floats(rng, n);
  gate[0] = -90.0f;  // e^-x overflows: silu -> -0
  gate[1] = 90.0f;
  gate[2] = 0.0f;
  for (kernel_path p : test::supported_paths()) {
    ASSERT_TRUE(set_kernel_path(kernel_path_name(p)).ok());
    std::vector<float> sw(n), sl(n);
    swiglu(gate.data(), up.data(), sw.data(), n);
    silu(gate.data(), sl.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const double g = gate[i];
      const double s = g / (1.0 + std::exp(-g));
      ASSERT_NEAR(sl[i], s, 4e-7 * std::fabs(s) + 1e-37) << kernel_path_name(p) << " i=" << i;
      ASSERT_NEAR(sw[i], s * up[i], 5e-7 * std::fabs(s * up[i]) + 1e-37) << kernel_path_name(p) << " i=" << i;
    }
    // In place, as the engine calls it.
    std::vector<float> g2 = gate;
    swiglu(g2.data(), up.data(), g2.data(), n);
    ASSERT_EQ(g2, sw);

    for (int64_t len : {int64_t{1}, int64_t{7}, int64_t{65}, n}) {
      std::vector<float> x(gate.begin(), gate.begin() + len);
      x[len / 2] = -INFINITY;
      // Scaled and max-subtracted in float, as documented; the rest in float64.
      std::vector<float> xs(static_cast<size_t>(len));
      float mx = -INFINITY;
      for (int64_t i = 0; i < len; ++i) {
        xs[i] = i == len / 2 ? -INFINITY : gate[i] * 0.7f;
        mx = std::max(mx, xs[i]);
      }
      std::vector<double> e(static_cast<size_t>(len), 0.0);
      double sum = 0;
      for (int64_t i = 0; i < len && mx != -INFINITY; ++i) sum += (e[i] = std::exp(static_cast<double>(xs[i] - mx)));
      softmax(x.data(), len, 0.7f);
      for (int64_t i = 0; i < len; ++i) {
        const double want = sum > 0 ? e[i] / sum : 0.0;
        ASSERT_NEAR(x[i], want, 1e-6 * want + 1e-12) << kernel_path_name(p) << " len " << len << " i " << i;
      }
    }
  }
}

struct shape {
  tensor_type kt, vt;
  int n_head, n_head_kv, dk, dv;
  int64_t n_q, n_kv, q_pos0;
  bool causal;
};

std::string describe(const shape& c) {
  std::ostringstream os;
  os << type_info(c.kt).name << "/" << type_info(c.vt).name << " heads " << c.n_head << "/" << c.n_head_kv << " dims "
     << c.dk << "/" << c.dv << " n_q " << c.n_q << " n_kv " << c.n_kv << " q_pos0 " << c.q_pos0
     << (c.causal ? " causal" : " full");
  return os.str();
}

// Queries that every K type's dot format holds exactly (multiples of 1/64 up to
// 127/64, each 32-block reaching ±127/64): the F16 and Q8_0 roundings of the
// query are then the identity and the reference can use the values as they are.
std::vector<float> exact_queries(std::mt19937& rng, int64_t n) {
  std::uniform_int_distribution<int> q(-127, 127);
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = (i % 32 == 5 ? 127.0f : static_cast<float>(q(rng))) / 64.0f;
  return v;
}

struct cache {
  std::vector<uint8_t> k, v;
  size_t krow = 0, vrow = 0;
};

cache make_cache(std::mt19937& rng, const shape& c) {
  cache out;
  out.krow = row_size(c.kt, c.dk);
  out.vrow = row_size(c.vt, c.dv);
  const auto kf = test::random_floats(rng, c.n_kv * c.n_head_kv * c.dk);
  const auto vf = test::random_floats(rng, c.n_kv * c.n_head_kv * c.dv);
  out.k.resize(out.krow * c.n_kv * c.n_head_kv);
  out.v.resize(out.vrow * c.n_kv * c.n_head_kv);
  for (int64_t r = 0; r < c.n_kv * c.n_head_kv; ++r) {
    EXPECT_TRUE(quantize_row(c.kt, kf.data() + r * c.dk, out.k.data() + r * out.krow, c.dk).ok());
    EXPECT_TRUE(quantize_row(c.vt, vf.data() + r * c.dv, out.v.data() + r * out.vrow, c.dv).ok());
  }
  return out;
}

attention_args make_args(const shape& c, const cache& kv, const float* q, float* out) {
  attention_args a;
  a.q = q;
  a.q_stride = int64_t{c.n_head} * c.dk;
  a.out = out;
  a.out_stride = int64_t{c.n_head} * c.dv;
  a.n_q = c.n_q;
  a.n_head = c.n_head;
  a.n_head_kv = c.n_head_kv;
  a.head_dim_k = c.dk;
  a.head_dim_v = c.dv;
  a.n_kv = c.n_kv;
  a.q_pos0 = c.q_pos0;
  a.causal = c.causal;
  a.scale = 1.0f / std::sqrt(static_cast<float>(c.dk));
  // Cache layout: [position][kv head][dim].
  a.k = {c.kt, kv.k.data(), kv.krow * c.n_head_kv, kv.krow};
  a.v = {c.vt, kv.v.data(), kv.vrow * c.n_head_kv, kv.vrow};
  return a;
}

// softmax(q·Kᵀ·scale + mask)·V in float64 from the cache bytes.
std::vector<double> reference(const shape& c, const cache& kv, const std::vector<float>& q, float scale) {
  std::vector<std::vector<double>> kd, vd;
  for (int64_t r = 0; r < c.n_kv * c.n_head_kv; ++r) {
    kd.push_back(test::reference_dequantize(c.kt, kv.k.data() + r * kv.krow, c.dk));
    vd.push_back(test::reference_dequantize(c.vt, kv.v.data() + r * kv.vrow, c.dv));
  }
  std::vector<double> out(static_cast<size_t>(c.n_q * c.n_head * c.dv), 0.0);
  const int group = c.n_head / c.n_head_kv;
  for (int64_t i = 0; i < c.n_q; ++i) {
    for (int h = 0; h < c.n_head; ++h) {
      const int hk = h / group;
      const int64_t vis = std::max<int64_t>(0, c.causal ? std::min(c.n_kv, c.q_pos0 + i + 1) : c.n_kv);
      std::vector<double> s(static_cast<size_t>(vis));
      double mx = -INFINITY;
      for (int64_t j = 0; j < vis; ++j) {
        const auto& k = kd[static_cast<size_t>(j * c.n_head_kv + hk)];
        double dot = 0;
        for (int d = 0; d < c.dk; ++d) dot += static_cast<double>(q[(i * c.n_head + h) * c.dk + d]) * k[d];
        s[j] = dot * scale;
        mx = std::max(mx, s[j]);
      }
      double sum = 0;
      for (auto& v : s) sum += (v = std::exp(v - mx));
      double* o = out.data() + (i * c.n_head + h) * c.dv;
      for (int64_t j = 0; j < vis; ++j) {
        const auto& v = vd[static_cast<size_t>(j * c.n_head_kv + hk)];
        for (int d = 0; d < c.dv; ++d) o[d] += s[j] / sum * v[d];
      }
    }
  }
  return out;
}

// Runs the shape on every path and with 1 and 2 threads; each result is held to
// tol (absolute; values are O(1)) against float64, and the thread counts must
// agree bit for bit.
void check_shape(const shape& c, double tol = 2e-5) {
  test::path_guard guard;
  std::mt19937 rng(static_cast<uint32_t>(c.n_q * 131 + c.n_kv * 7 + c.dk + c.n_head));
  const int64_t nq_elems = c.n_q * c.n_head * c.dk;
  const auto q = c.kt == tensor_type::f32 ? test::random_floats(rng, nq_elems) : exact_queries(rng, nq_elems);
  const cache kv = make_cache(rng, c);
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.dk));
  const auto ref = reference(c, kv, q, scale);
  for (kernel_path p : test::supported_paths()) {
    ASSERT_TRUE(set_kernel_path(kernel_path_name(p)).ok());
    std::vector<float> first;
    for (int threads : {2, 1}) {
      std::vector<float> out(ref.size(), NAN);
      const attention_args a = make_args(c, kv, q.data(), out.data());
      thread_pool pool(threads);
      attention(a, pool);
      for (size_t e = 0; e < ref.size(); ++e) {
        ASSERT_NEAR(out[e], ref[e], tol) << describe(c) << " on " << kernel_path_name(p) << ", element " << e
                                         << " (query " << e / (c.n_head * c.dv) << ")";
      }
      if (first.empty()) first = out;
      else ASSERT_EQ(0, std::memcmp(first.data(), out.data(), out.size() * sizeof(float))) << describe(c);
    }
  }
}

TEST(BlockedAttention, PromptGqaSixLikeTheDistilledModels) {
  // 12 query heads on 2 KV heads, 128 dims: 8 queries × 6 heads per task; 21 queries leave a partial block.
  check_shape({tensor_type::f16, tensor_type::f16, 12, 2, 128, 128, 21, 21, 0, true});
  check_shape({tensor_type::f32, tensor_type::f32, 12, 2, 128, 128, 21, 21, 0, true});
}

TEST(BlockedAttention, ContinuedPromptSeesTheCachedPrefix) {
  // 13 new queries at positions 150.. over 163 keys: whole tiles, the diagonal tile, a key tail.
  check_shape({tensor_type::f16, tensor_type::f16, 12, 2, 128, 128, 13, 163, 150, true});
  check_shape({tensor_type::q8_0, tensor_type::q8_0, 12, 2, 128, 128, 13, 163, 150, true}, 3e-5);
}

TEST(BlockedAttention, GqaRatiosOneTwoEight) {
  check_shape({tensor_type::f32, tensor_type::f16, 3, 3, 64, 64, 50, 50, 0, true});
  check_shape({tensor_type::f16, tensor_type::f32, 4, 2, 64, 64, 30, 97, 67, false});
  check_shape({tensor_type::f16, tensor_type::q8_0, 16, 2, 128, 128, 9, 75, 66, true}, 3e-5);
}

TEST(BlockedAttention, HeadDim192AndDifferentKvDims) {
  // deepseek2's legacy (expanded) path: 192-dim keys, 128-dim values, one KV head per query head.
  check_shape({tensor_type::f16, tensor_type::f16, 4, 4, 192, 128, 17, 70, 53, true});
  check_shape({tensor_type::q8_0, tensor_type::f32, 2, 1, 96, 64, 6, 66, 60, true}, 3e-5);
}

TEST(BlockedAttention, MlaAbsorbedShapePromptAndSplitDecode) {
  // Absorbed MLA: all heads on one KV head of 576 (K) / 512 (V) dims.
  check_shape({tensor_type::f16, tensor_type::f16, 16, 1, 576, 512, 5, 70, 65, true});
  // Decode over a cache long enough to split the keys into chunks, merged afterwards.
  check_shape({tensor_type::f16, tensor_type::f16, 16, 1, 576, 512, 1, 1100, 1099, true});
}

TEST(BlockedAttention, GroupLargerThanOneTask) {
  // 64 heads on one KV head: the group is sliced over two tasks of 32 heads.
  check_shape({tensor_type::f32, tensor_type::f32, 64, 1, 64, 64, 3, 40, 37, true});
}

TEST(BlockedAttention, OddDimsAndQueriesWithoutKeys) {
  // Dims that are not a multiple of any vector width; queries at negative positions see nothing (zeros).
  check_shape({tensor_type::f32, tensor_type::f32, 6, 2, 36, 20, 11, 9, -3, true});
  check_shape({tensor_type::f32, tensor_type::f32, 2, 1, 5, 3, 4, 3, 0, false});
}

TEST(BlockedAttention, PromptRowsEqualDecodeRowsBitForBit) {
  // A prompt of 40 queries at positions 0..39 against 40 single-query calls
  // over the growing cache: the same numbers, whatever block a row fell in.
  test::path_guard guard;
  const shape c{tensor_type::f16, tensor_type::f16, 12, 2, 128, 128, 40, 40, 0, true};
  std::mt19937 rng(62);
  const auto q = exact_queries(rng, c.n_q * c.n_head * c.dk);
  const cache kv = make_cache(rng, c);
  thread_pool pool(2);
  for (kernel_path p : test::supported_paths()) {
    ASSERT_TRUE(set_kernel_path(kernel_path_name(p)).ok());
    std::vector<float> batch(static_cast<size_t>(c.n_q * c.n_head * c.dv));
    attention(make_args(c, kv, q.data(), batch.data()), pool);
    for (int64_t i = 0; i < c.n_q; ++i) {
      shape one = c;
      one.n_q = 1;
      one.n_kv = i + 1;
      one.q_pos0 = i;
      std::vector<float> row(static_cast<size_t>(c.n_head * c.dv));
      attention(make_args(one, kv, q.data() + i * c.n_head * c.dk, row.data()), pool);
      ASSERT_EQ(0, std::memcmp(row.data(), batch.data() + i * c.n_head * c.dv, row.size() * sizeof(float)))
          << kernel_path_name(p) << " query " << i;
    }
  }
}

}  // namespace
}  // namespace r1::kernels
