// The engine's forward pass against the float64 reference on tiny random-weight models of
// every architecture. Weights have a standard deviation of about 1/sqrt(fan_in) (the test-model
// tool's default), so attention is far from uniform and a broken RoPE, mask or KV cache moves
// the logits well beyond the tolerances below.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "r1/engine/context.h"
#include "r1/engine/model.h"
#include "r1/mkmodel/make_model.h"
#include "r1/test_support/temp_dir.h"
#include "reference_forward.h"

namespace r1::engine {
namespace {

struct model_case {
  std::string arch;
  std::string type;    // weight type
  tensor_type kv;
  double noise_rms;    // rms |Δlogit| / rms logit against plain float64
  double mirror_max;   // max |Δlogit| against the mirrored reference (0: not checked)
  std::string name;
  uint32_t n_embd = 128;  // 256 lets K-quants (256-element blocks) apply to every matrix
};

std::string make_model(const test_support::temp_dir& dir, const std::string& arch, const std::string& type,
                       const std::string& tag, bool yarn = false, uint32_t n_embd = 128) {
  auto spec = mkmodel::preset(arch, "tiny");
  EXPECT_TRUE(spec.ok()) << spec.error().to_string();
  mkmodel::model_spec s = *spec;
  s.n_layer = 2;
  s.n_embd = n_embd;
  s.n_head = 4;
  s.n_head_kv = 2;  // groups of two query heads
  s.n_ff = 2 * n_embd;
  s.n_ctx = 256;
  s.type = type;
  s.seed = 11;
  if (arch == "llama") s.rope_freqs = true;
  if (yarn) {
    s.yarn_factor = 4;
    s.yarn_orig_ctx = 64;
  }
  const std::string path = dir / (arch + "-" + tag + ".gguf");
  auto w = mkmodel::write_model(s, path);
  EXPECT_TRUE(w.ok()) << w.error().to_string();
  return path;
}

std::vector<int32_t> random_tokens(size_t n, uint32_t n_vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<uint32_t> d(0, n_vocab - 1);
  std::vector<int32_t> t(n);
  for (auto& x : t) x = static_cast<int32_t>(d(rng));
  return t;
}

double max_diff(const float* got, const std::vector<double>& want) {
  double m = 0;
  for (size_t i = 0; i < want.size(); ++i) m = std::max(m, std::fabs(static_cast<double>(got[i]) - want[i]));
  return m;
}

double max_abs(const std::vector<std::vector<double>>& rows) {
  double m = 0;
  for (const auto& r : rows)
    for (double v : r) m = std::max(m, std::fabs(v));
  return m;
}

class forward : public ::testing::TestWithParam<model_case> {};

struct diff_stats {
  double max = 0, rms_rel = 0;
};

diff_stats compare(const std::vector<float>& got, const std::vector<std::vector<double>>& want, size_t n_vocab) {
  diff_stats d;
  double se = 0, sv = 0;
  for (size_t t = 0; t < want.size(); ++t) {
    for (size_t i = 0; i < n_vocab; ++i) {
      const double e = got[t * n_vocab + i] - want[t][i];
      d.max = std::max(d.max, std::fabs(e));
      se += e * e;
      sv += want[t][i] * want[t][i];
    }
  }
  d.rms_rel = std::sqrt(se / sv);
  return d;
}

TEST_P(forward, batch_and_incremental_logits_match_float64) {
  const model_case& c = GetParam();
  test_support::temp_dir dir("engine-fwd");
  const std::string path = make_model(dir, c.arch, c.type, c.name, false, c.n_embd);
  auto m = model::load({path});
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  // "Q4_K" is written as the Q4_K_S mix; the prefix says the weights are of that family.
  ASSERT_EQ((*m)->info().file_type.rfind(c.type, 0), 0u) << (*m)->info().file_type;
  const uint32_t n_vocab = (*m)->hparams().n_vocab;
  const std::vector<int32_t> tokens = random_tokens(40, n_vocab, 5);
  auto plain = testing::reference_logits(path, tokens);
  ASSERT_TRUE(plain.ok()) << plain.error().to_string();
  auto mirrored = testing::reference_logits(path, tokens, {.mirror_quantization = true, .kv_type = c.kv});
  ASSERT_TRUE(mirrored.ok()) << mirrored.error().to_string();
  // Logits of order one: the tolerances are meaningful.
  ASSERT_GT(max_abs(*plain), 0.5);

  context_params cp;
  cp.n_ctx = 64;
  cp.kv_type = c.kv;
  cp.n_threads = 2;
  cp.n_batch = 16;  // the 40-token batch is split in three
  auto ctx = context::create(**m, cp);
  ASSERT_TRUE(ctx.ok()) << ctx.error().to_string();
  std::vector<float> logits;
  ASSERT_TRUE((*ctx)->decode(0, tokens, 0, logits_mode::all, logits).ok());
  ASSERT_EQ(logits.size(), tokens.size() * n_vocab);
  const diff_stats exact = compare(logits, *mirrored, n_vocab);
  const diff_stats noise = compare(logits, *plain, n_vocab);
  std::printf("%s: vs mirrored float64 max %.3g; vs plain float64 max %.3g, rms %.3g of rms logit\n", c.name.c_str(),
              exact.max, noise.max, noise.rms_rel);
  // With the kernels' roundings mirrored, only float32 accumulation remains, until one value
  // lands on the other side of a rounding boundary than in float64; from there the two runs
  // drift apart by rounding noise. With F32 weights and caches nothing rounds; with F16 the
  // flips are common but each is one 11-bit ulp; with 8-bit activations a single flip moves a
  // value by a whole quantum, so those cases are only held to the noise bound.
  if (c.mirror_max > 0) {
    EXPECT_LT(exact.max, c.mirror_max) << "batch vs mirrored reference";
  }
  EXPECT_LT(noise.rms_rel, c.noise_rms) << "batch vs plain reference";

  // Token by token through the KV cache, in a second context.
  auto ctx2 = context::create(**m, cp);
  ASSERT_TRUE(ctx2.ok());
  std::vector<float> all;
  for (size_t t = 0; t < tokens.size(); ++t) {
    ASSERT_TRUE((*ctx2)->decode(0, std::span(tokens).subspan(t, 1), static_cast<int32_t>(t), logits_mode::last, logits).ok());
    all.insert(all.end(), logits.begin(), logits.end());
  }
  const diff_stats inc = c.mirror_max > 0 ? compare(all, *mirrored, n_vocab) : compare(all, *plain, n_vocab);
  if (c.mirror_max > 0) {
    EXPECT_LT(inc.max, c.mirror_max) << "incremental vs mirrored reference";
  }
  EXPECT_LT(inc.rms_rel, c.noise_rms) << "incremental";
}

// Relative rms error against plain float64, from the roundings involved: F32 only float
// accumulation; F16 K/V/Q 11-bit mantissas (~3e-4 per value); Q8_0 K/V and Q8_0/Q8_K
// activations ~0.6% per value per stage, over a dozen stages.
INSTANTIATE_TEST_SUITE_P(
    archs, forward,
    ::testing::Values(model_case{"qwen2", "F32", tensor_type::f32, 1e-5, 1e-4, "qwen2_f32"},
                      model_case{"llama", "F32", tensor_type::f32, 1e-5, 1e-4, "llama_f32"},
                      model_case{"qwen3", "F32", tensor_type::f32, 1e-5, 1e-4, "qwen3_f32"},
                      model_case{"qwen2", "F32", tensor_type::f16, 2e-3, 5e-3, "qwen2_kvf16"},
                      model_case{"llama", "F16", tensor_type::f16, 2e-3, 5e-3, "llama_f16"},
                      model_case{"qwen3", "F32", tensor_type::q8_0, 4e-2, 0, "qwen3_kvq8"},
                      model_case{"qwen2", "Q8_0", tensor_type::f16, 4e-2, 0, "qwen2_q8_0"},
                      model_case{"llama", "Q4_K", tensor_type::f16, 4e-2, 0, "llama_q4_k", 256},
                      model_case{"qwen3", "Q6_K", tensor_type::f32, 4e-2, 0, "qwen3_q6_k", 256},
                      model_case{"qwen2", "Q4_K_M", tensor_type::f16, 4e-2, 0, "qwen2_q4_k_m", 256}),
    [](const ::testing::TestParamInfo<model_case>& p) { return p.param.name; });

TEST(forward_yarn, qwen3_with_yarn_scaling_matches_float64) {
  test_support::temp_dir dir("engine-yarn");
  const std::string path = make_model(dir, "qwen3", "F32", "yarn", true);
  auto m = model::load({path});
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  ASSERT_EQ((*m)->hparams().rope_scaling, "yarn");
  const std::vector<int32_t> tokens = random_tokens(48, (*m)->hparams().n_vocab, 9);
  auto ref = testing::reference_logits(path, tokens);
  ASSERT_TRUE(ref.ok()) << ref.error().to_string();
  auto ctx = context::create(**m, {.n_ctx = 64, .n_seq = 1, .kv_type = tensor_type::f32, .n_threads = 2});
  ASSERT_TRUE(ctx.ok());
  std::vector<float> logits;
  ASSERT_TRUE((*ctx)->decode(0, tokens, 0, logits_mode::all, logits).ok());
  double worst = 0;
  const size_t nv = (*m)->hparams().n_vocab;
  for (size_t t = 0; t < tokens.size(); ++t) worst = std::max(worst, max_diff(logits.data() + t * nv, (*ref)[t]));
  EXPECT_LT(worst, 2e-3);
}

TEST(forward_threads, logits_are_identical_with_one_and_two_threads) {
  test_support::temp_dir dir("engine-thr");
  const std::string path = make_model(dir, "qwen2", "Q8_0", "thr");
  auto m = model::load({path});
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  const std::vector<int32_t> tokens = random_tokens(24, (*m)->hparams().n_vocab, 3);
  std::vector<float> a, b;
  for (int threads : {1, 2}) {
    auto ctx = context::create(**m, {.n_ctx = 64, .n_seq = 1, .kv_type = tensor_type::f16, .n_threads = threads});
    ASSERT_TRUE(ctx.ok());
    ASSERT_EQ((*ctx)->n_threads(), threads);
    ASSERT_TRUE((*ctx)->decode(0, tokens, 0, logits_mode::all, threads == 1 ? a : b).ok());
  }
  ASSERT_EQ(a.size(), b.size());
  size_t differ = 0;
  for (size_t i = 0; i < a.size(); ++i) differ += a[i] != b[i];
  EXPECT_EQ(differ, 0u);
}

TEST(forward_errors, bad_tokens_positions_and_overflow_are_refused) {
  test_support::temp_dir dir("engine-err");
  const std::string path = make_model(dir, "qwen2", "F32", "err");
  auto m = model::load({path});
  ASSERT_TRUE(m.ok());
  auto ctx = context::create(**m, {.n_ctx = 16, .n_seq = 2, .kv_type = tensor_type::f16, .n_threads = 1});
  ASSERT_TRUE(ctx.ok());
  std::vector<float> l;
  const int32_t bad[] = {static_cast<int32_t>((*m)->hparams().n_vocab)};
  EXPECT_EQ((*ctx)->decode(0, bad, 0, logits_mode::last, l).code(), error_code::invalid_argument);
  const int32_t ok1[] = {1, 2, 3};
  EXPECT_EQ((*ctx)->decode(0, ok1, 1, logits_mode::last, l).code(), error_code::invalid_argument);  // hole
  EXPECT_EQ((*ctx)->decode(2, ok1, 0, logits_mode::last, l).code(), error_code::invalid_argument);  // slot
  std::vector<int32_t> many(17, 1);
  EXPECT_EQ((*ctx)->decode(0, many, 0, logits_mode::last, l).code(), error_code::resource_exhausted);
  EXPECT_TRUE((*ctx)->decode(1, ok1, 0, logits_mode::last, l).ok());
  EXPECT_EQ((*ctx)->kv().tokens(1).size(), 3u);
  EXPECT_TRUE((*ctx)->kv().tokens(0).empty());
  auto too_long = context::create(**m, {.n_ctx = 1 << 20});
  EXPECT_EQ(too_long.error().code(), error_code::invalid_argument);
}

TEST(model_load, missing_file_and_garbage_are_clear_errors) {
  test_support::temp_dir dir("engine-load");
  auto missing = model::load({dir / "nope.gguf"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), error_code::not_found);
  FILE* f = std::fopen((dir / "junk.gguf").c_str(), "wb");
  std::fputs("GGUF this is not a model", f);
  std::fclose(f);
  auto junk = model::load({dir / "junk.gguf"});
  ASSERT_FALSE(junk.ok());
  EXPECT_EQ(junk.error().code(), error_code::corrupt);
}

}  // namespace
}  // namespace r1::engine
