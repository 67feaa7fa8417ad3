// The deepseek2 forward pass (both MLA generations, MoE routing, sharded files) against the
// float64 reference on tiny random-weight models from the test-model tool.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "deepseek2_reference.h"
#include "r1/engine/context.h"
#include "r1/engine/model.h"
#include "r1/mkmodel/make_model.h"
#include "r1/test_support/temp_dir.h"

namespace r1::engine {
namespace {

struct ds2_case {
  std::string name;
  bool mla = true;
  std::string type = "F32";
  tensor_type kv = tensor_type::f32;
  uint32_t n_split = 1;
  uint32_t gating = 2;
  uint32_t groups = 0, groups_used = 0;
  double tol_rel = 1e-4;  // max |Δlogit| / max |logit|; for 8-bit weights: rms |Δlogit| / rms logit
  uint32_t n_used = 3;    // of 8 experts
  size_t max_rows_off = 0;
};

mkmodel::model_spec spec_of(const ds2_case& c) {
  auto p = mkmodel::preset("deepseek2", "tiny");
  EXPECT_TRUE(p.ok());
  mkmodel::model_spec s = *p;
  s.n_layer = 3;  // one dense layer, two MoE layers
  s.n_dense_lead = 1;
  s.n_expert = 8;
  s.n_expert_used = c.n_used;
  s.n_ctx = 256;
  s.mla_split = c.mla;
  s.type = c.type;
  s.gating_func = c.gating;
  s.n_expert_groups = c.groups;
  s.n_group_used = c.groups_used;
  s.n_split = c.n_split;
  s.seed = 23;
  return s;
}

std::vector<std::string> write(const test_support::temp_dir& dir, const ds2_case& c) {
  auto files = mkmodel::write_model(spec_of(c), dir / (c.name + ".gguf"));
  EXPECT_TRUE(files.ok()) << files.error().to_string();
  return files.ok() ? *files : std::vector<std::string>{};
}

std::vector<int32_t> random_tokens(size_t n, uint32_t n_vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<uint32_t> d(0, n_vocab - 1);
  std::vector<int32_t> t(n);
  for (auto& x : t) x = static_cast<int32_t>(d(rng));
  return t;
}

struct diff_stats {
  double max = 0, scale = 0, rms_rel = 0;  // max |got - want|, max |want|, rms error / rms want
  size_t rows_off = 0;                     // positions whose max error exceeds 10% of scale
};

diff_stats diff(const std::vector<float>& got, const std::vector<std::vector<double>>& want) {
  diff_stats s;
  double se = 0, sw = 0;
  const size_t nv = want.front().size();
  std::vector<double> row_max(want.size(), 0.0);
  for (size_t t = 0; t < want.size(); ++t) {
    for (size_t i = 0; i < nv; ++i) {
      const double e = std::fabs(got[t * nv + i] - want[t][i]);
      row_max[t] = std::max(row_max[t], e);
      s.scale = std::max(s.scale, std::fabs(want[t][i]));
      se += e * e;
      sw += want[t][i] * want[t][i];
    }
  }
  for (double r : row_max) {
    s.max = std::max(s.max, r);
    s.rows_off += r > 0.1 * s.scale;
  }
  s.rms_rel = std::sqrt(se / sw);
  return s;
}

// F32: only float32 accumulation differs. F16 weights: activations rounded to F16 before each
// matmul. Q8_0: activations rounded to 8 bits (~0.4% per value) before each of about fifteen
// matmul stages, held to an rms bound like the dense architectures' 8-bit cases. On top of that,
// a router logit that moves by about 1% can swap two experts whose scores are that close; such
// a token (and the attention of later ones) then legitimately differs from float64 by a whole
// expert's output, so the top-3 cases allow a few rows off; the same weights with every expert
// used (nothing to swap) must have none.
void check(const diff_stats& d, const ds2_case& c, const char* what) {
  EXPECT_LE(d.rows_off, c.max_rows_off) << what;
  if (c.type == "Q8_0") {
    EXPECT_LT(d.rms_rel, c.tol_rel) << what;
  } else {
    EXPECT_LT(d.max, c.tol_rel * d.scale) << what;
  }
}

class deepseek2_forward : public ::testing::TestWithParam<ds2_case> {};

TEST_P(deepseek2_forward, batch_and_incremental_logits_match_float64) {
  const ds2_case& c = GetParam();
  test_support::temp_dir dir("ds2-fwd");
  const std::vector<std::string> files = write(dir, c);
  ASSERT_EQ(files.size(), c.n_split);
  auto m = model::load({files.front()});  // the loader finds the other shards
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  const model_hparams& hp = (*m)->hparams();
  ASSERT_EQ(hp.architecture, "deepseek2");
  ASSERT_EQ(hp.head_dim_k_mla != 0, c.mla);
  const std::vector<int32_t> tokens = random_tokens(40, hp.n_vocab, 5);
  auto ref = testing::deepseek2_reference_logits(files.front(), tokens);
  ASSERT_TRUE(ref.ok()) << ref.error().to_string();

  context_params cp;
  cp.n_ctx = 64;
  cp.kv_type = c.kv;
  cp.n_threads = 2;
  cp.n_batch = 16;  // the 40-token prompt runs as three batches
  auto ctx = context::create(**m, cp);
  ASSERT_TRUE(ctx.ok()) << ctx.error().to_string();
  std::vector<float> logits;
  ASSERT_TRUE((*ctx)->decode(0, tokens, 0, logits_mode::all, logits).ok());
  const diff_stats d = diff(logits, *ref);
  std::printf("%s: max |dlogit| %.3g of max |logit| %.3g, rms %.3g, rows off %zu\n", c.name.c_str(), d.max, d.scale,
              d.rms_rel, d.rows_off);
  ASSERT_GT(d.scale, 0.3);  // logits far from zero: the bound below means something
  check(d, c, "batch");

  auto ctx2 = context::create(**m, cp);
  ASSERT_TRUE(ctx2.ok());
  std::vector<float> all;
  for (size_t t = 0; t < tokens.size(); ++t) {
    ASSERT_TRUE((*ctx2)->decode(0, std::span(tokens).subspan(t, 1), static_cast<int32_t>(t), logits_mode::last, logits).ok());
    all.insert(all.end(), logits.begin(), logits.end());
  }
  const diff_stats di = diff(all, *ref);
  std::printf("%s token by token: max |dlogit| %.3g, rms %.3g, rows off %zu\n", c.name.c_str(), di.max, di.rms_rel,
              di.rows_off);
  check(di, c, "token by token");
}

INSTANTIATE_TEST_SUITE_P(
    files, deepseek2_forward,
    ::testing::Values(ds2_case{"mla_f32_3_shards", true, "F32", tensor_type::f32, 3},
                      ds2_case{"legacy_f32_2_shards", false, "F32", tensor_type::f32, 2},
                      ds2_case{"mla_groups_f32", true, "F32", tensor_type::f32, 1, 2, 4, 2},
                      ds2_case{"legacy_softmax_f32", false, "F32", tensor_type::f32, 1, 1},
                      ds2_case{"mla_softmax_weight_f32", true, "F32", tensor_type::f32, 1, 3},
                      ds2_case{"mla_f16_kv_f16", true, "F16", tensor_type::f16, 1, 2, 0, 0, 1e-2},
                      ds2_case{"legacy_q8_0_all_experts", false, "Q8_0", tensor_type::f16, 1, 2, 0, 0, 6e-2, 8},
                      ds2_case{"mla_q8_0_all_experts", true, "Q8_0", tensor_type::f16, 1, 2, 0, 0, 6e-2, 8},
                      ds2_case{"legacy_q8_0", false, "Q8_0", tensor_type::f16, 1, 2, 0, 0, 0.2, 3, 8},
                      ds2_case{"mla_q8_0", true, "Q8_0", tensor_type::f16, 1, 2, 0, 0, 0.2, 3, 8}),
    [](const ::testing::TestParamInfo<ds2_case>& p) { return p.param.name; });

TEST(deepseek2_load, shards_given_as_loose_paths_in_any_order) {
  test_support::temp_dir dir("ds2-loose");
  ds2_case c{"loose", true, "F32", tensor_type::f32, 3};
  std::vector<std::string> files = write(dir, c);
  ASSERT_EQ(files.size(), 3u);
  auto whole = model::load({files.front()});
  ASSERT_TRUE(whole.ok()) << whole.error().to_string();
  std::reverse(files.begin(), files.end());
  auto loose = model::load(files);
  ASSERT_TRUE(loose.ok()) << loose.error().to_string();
  const std::vector<int32_t> tokens = random_tokens(8, (*whole)->hparams().n_vocab, 2);
  std::vector<float> a, b;
  auto ca = context::create(**whole, {.n_ctx = 16, .kv_type = tensor_type::f32, .n_threads = 1});
  auto cb = context::create(**loose, {.n_ctx = 16, .kv_type = tensor_type::f32, .n_threads = 1});
  ASSERT_TRUE(ca.ok() && cb.ok());
  ASSERT_TRUE((*ca)->decode(0, tokens, 0, logits_mode::all, a).ok());
  ASSERT_TRUE((*cb)->decode(0, tokens, 0, logits_mode::all, b).ok());
  EXPECT_EQ(a, b);
}

TEST(deepseek2_load, latent_cache_is_smaller_than_the_expanded_one) {
  test_support::temp_dir dir("ds2-kv");
  auto mla = model::load(write(dir, {"mla", true}));
  auto legacy = model::load(write(dir, {"legacy", false}));
  ASSERT_TRUE(mla.ok() && legacy.ok());
  const model_hparams& h = (*mla)->hparams();
  auto a = context::create(**mla, {.n_ctx = 16, .kv_type = tensor_type::f16, .n_threads = 1});
  auto b = context::create(**legacy, {.n_ctx = 16, .kv_type = tensor_type::f16, .n_threads = 1});
  ASSERT_TRUE(a.ok() && b.ok());
  // MLA: one compressed row (kv_lora + rope) per layer; V is read from inside it.
  EXPECT_TRUE((*a)->kv().params().v_in_k);
  EXPECT_EQ((*a)->kv().bytes_per_token(), uint64_t{h.n_layer} * 2 * (h.n_lora_kv + h.rope.n_rot));
  EXPECT_FALSE((*b)->kv().params().v_in_k);
  // Legacy: n_head × (nope + rope) for K and n_head × v for V.
  const model_hparams& l = (*legacy)->hparams();
  EXPECT_EQ((*b)->kv().bytes_per_token(), uint64_t{l.n_layer} * 2 * l.n_head * (l.head_dim_k + l.head_dim_v));
}

}  // namespace
}  // namespace r1::engine
