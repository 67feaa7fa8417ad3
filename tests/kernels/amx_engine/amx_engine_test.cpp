// The forward pass of a tiny Q4_K_M model (Q4_K and Q6_K matrices; n_embd 256 so
// every matrix is a K-quant) with the amx kernel path forced, so that the 45-token
// prompt runs on AMX tiles (two full token tiles and a 13-column tail).
//
// What can be asserted: every AMX matmul equals the dot kernels' up to float
// summation order (kernels_cpu_tests, Amx.*), but a forward pass quantizes each
// matmul input to 8 bits, so a value that lands on the other side of a rounding
// boundary moves by a whole quantum and the two runs drift apart from there (the
// avx2 and avx512 paths differ the same way; see tests/unit/engine/forward_test.cpp).
// So: positions before the first such flip agree within 1e-5 of the logit scale;
// the whole prompt is as close to the float64 reference as the avx512 path is;
// results do not depend on the thread count; decode continues from the AMX-built
// cache. A repacked Q8_0 model's prompt on AMX-BF16 tiles is held to the same
// float64 bound. Skipped where AMX (or AMX-BF16) is unavailable.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include "amx_engine_model.h"
#include "r1/engine/context.h"
#include "r1/engine/model.h"
#include "r1/kernels/cpu_features.h"
#include "r1/kernels/matmul.h"
#include "r1/test_support/temp_dir.h"
#include "reference_forward.h"

namespace r1::engine {
namespace {

using testing::logits_run;
using testing::path_restore;

logits_run run(const model& m, const char* path, const std::vector<int32_t>& tokens, int threads) {
  logits_run r;
  EXPECT_TRUE(kernels::set_kernel_path(path).ok());
  auto ctx = context::create(m, {.n_ctx = 128, .n_seq = 1, .kv_type = tensor_type::f16, .n_threads = threads});
  EXPECT_TRUE(ctx.ok());
  if (!ctx.ok()) return r;
  EXPECT_TRUE((*ctx)->decode(0, tokens, 0, logits_mode::all, r.prompt).ok());
  const std::vector<int32_t> one{tokens[3]};
  EXPECT_TRUE((*ctx)->decode(0, one, static_cast<int32_t>(tokens.size()), logits_mode::last, r.next).ok());
  return r;
}

// rms |got − want| / rms want over every position.
double rms_rel(const std::vector<float>& got, const std::vector<std::vector<double>>& want, size_t n_vocab) {
  double se = 0, sv = 0;
  for (size_t t = 0; t < want.size(); ++t)
    for (size_t i = 0; i < n_vocab; ++i) {
      const double e = got[t * n_vocab + i] - want[t][i];
      se += e * e;
      sv += want[t][i] * want[t][i];
    }
  return std::sqrt(se / sv);
}

TEST(AmxEngine, PromptLogitsMatchAvx512AndFloat64) {
  if (!kernels::kernel_path_supported(kernels::kernel_path::amx))
    GTEST_SKIP() << "AMX-INT8 not available on this machine: the amx path is never chosen here";
  path_restore restore;
  test_support::temp_dir dir("amx-engine");
  const std::string path = dir / "tiny-q4km.gguf";
  auto w = testing::write_amx_test_model(path, "Q4_K_M", 5);
  ASSERT_TRUE(w.ok()) << w.to_string();
  auto m = model::load({path});
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  const size_t nv = (*m)->hparams().n_vocab;

  std::mt19937 rng(9);
  std::uniform_int_distribution<int32_t> d(0, static_cast<int32_t>(nv) - 1);
  std::vector<int32_t> tokens(45);
  for (auto& t : tokens) t = d(rng);
  ASSERT_GE(static_cast<int64_t>(tokens.size()), kernels::amx_min_cols());

  const logits_run avx = run(**m, "avx512", tokens, 2);
  const logits_run amx = run(**m, "amx", tokens, 2);
  const logits_run amx1 = run(**m, "amx", tokens, 1);
  ASSERT_EQ(avx.prompt.size(), tokens.size() * nv);
  ASSERT_EQ(amx.prompt.size(), avx.prompt.size());

  double scale = 0;
  for (float v : avx.prompt) scale = std::max(scale, std::fabs(static_cast<double>(v)));
  ASSERT_GT(scale, 0.1);
  // Position by position until the first rounding flip (a jump far above 1e-5).
  size_t agree = 0, differ_bits = 0;
  for (size_t p = 0; p < tokens.size(); ++p) {
    double worst = 0;
    for (size_t v = 0; v < nv; ++v) {
      const size_t i = p * nv + v;
      worst = std::max(worst, std::fabs(static_cast<double>(amx.prompt[i]) - avx.prompt[i]));
      differ_bits += amx.prompt[i] != avx.prompt[i];
    }
    if (worst > 1e-5 * scale) break;
    ++agree;
  }
  std::printf("amx vs avx512: first %zu of %zu positions within 1e-5 of max |logit| %.3g\n", agree, tokens.size(),
              scale);
  EXPECT_GE(agree, 4u) << "amx and avx512 prompt logits differ from the first positions on";
  // The tiles sum in another order than the dot kernels, so some last bits differ:
  // the prompt really ran on the AMX kernels.
  EXPECT_GT(differ_bits, 0u) << "amx prompt logits are bit-identical to avx512: the AMX kernels did not run";
  EXPECT_EQ(amx.prompt, amx1.prompt) << "amx logits depend on the thread count";

  auto plain = testing::reference_logits(path, tokens);
  ASSERT_TRUE(plain.ok()) << plain.error().to_string();
  const double e_avx = rms_rel(avx.prompt, *plain, nv), e_amx = rms_rel(amx.prompt, *plain, nv);
  std::printf("rms error against float64: avx512 %.3g, amx %.3g of rms logit\n", e_avx, e_amx);
  EXPECT_LT(e_amx, 4e-2);  // the forward tests' bound for 8-bit activations
  EXPECT_LT(e_amx, 1.5 * e_avx + 2e-3) << "amx prompt is further from float64 than the avx512 path";

  // Decode (dot kernels) after the AMX-built cache: as close to avx512's as the prompt.
  ASSERT_EQ(amx.next.size(), nv);
  double worst_next = 0;
  for (size_t i = 0; i < nv; ++i)
    worst_next = std::max(worst_next, std::fabs(static_cast<double>(amx.next[i]) - avx.next[i]));
  EXPECT_LT(worst_next, 4e-2 * scale) << "decode after an amx prompt";
}

// A Q8_0 model with its matrices repacked: prompts run on AMX-BF16 tiles
// (bf16 weights d·q and activations, fp32 sums; matmul_takes_float), no further
// from the float64 reference than the avx512 path with its 8-bit activations,
// independent of the thread count, and decode continues from that cache.
TEST(AmxEngine, Q8_0PromptOnBf16TilesMatchesFloat64) {
  if (!kernels::kernel_path_supported(kernels::kernel_path::amx) || !kernels::detect_cpu_features().amx_bf16 ||
      !kernels::detect_cpu_features().avx512bf16)
    GTEST_SKIP() << "AMX-BF16 not available on this machine: Q8_0 prompts stay on the integer GEMM";
  path_restore restore;
  test_support::temp_dir dir("amx-engine-bf16");
  const std::string path = dir / "tiny-q8_0.gguf";
  auto w = testing::write_amx_test_model(path, "Q8_0", 17);
  ASSERT_TRUE(w.ok()) << w.to_string();
  auto plain = model::load({path});
  ASSERT_TRUE(plain.ok()) << plain.error().to_string();
  auto packed = model::load({path});
  ASSERT_TRUE(packed.ok()) << packed.error().to_string();
  ASSERT_TRUE(kernels::set_kernel_path("amx").ok());
  auto rep = (*packed)->repack_for_amx({repack_mode::on, 0, 2});
  ASSERT_TRUE(rep.ok()) << rep.error().to_string();
  ASSERT_EQ(rep->repacked, rep->eligible);
  const size_t nv = (*plain)->hparams().n_vocab;

  std::mt19937 rng(23);
  std::uniform_int_distribution<int32_t> d(0, static_cast<int32_t>(nv) - 1);
  std::vector<int32_t> tokens(45);
  for (auto& t : tokens) t = d(rng);

  const logits_run avx = run(**plain, "avx512", tokens, 2);
  const logits_run int8 = run(**plain, "amx", tokens, 2);  // no copy: the integer GEMM unpacking rows
  const logits_run bf16 = run(**packed, "amx", tokens, 2);
  const logits_run bf16_1 = run(**packed, "amx", tokens, 1);
  ASSERT_EQ(bf16.prompt.size(), tokens.size() * nv);
  EXPECT_EQ(bf16.prompt, bf16_1.prompt) << "bf16 prompt logits depend on the thread count";
  EXPECT_NE(bf16.prompt, int8.prompt) << "the repacked Q8_0 prompt did not run on bf16 tiles";

  auto want = testing::reference_logits(path, tokens);
  ASSERT_TRUE(want.ok()) << want.error().to_string();
  const double e_avx = rms_rel(avx.prompt, *want, nv), e_int8 = rms_rel(int8.prompt, *want, nv),
               e_bf16 = rms_rel(bf16.prompt, *want, nv);
  std::printf("rms error against float64: avx512 %.3g, amx int8 %.3g, amx bf16 %.3g of rms logit\n", e_avx, e_int8,
              e_bf16);
  EXPECT_LT(e_bf16, 4e-2);
  EXPECT_LT(e_bf16, 1.5 * e_avx + 2e-3) << "bf16 prompt is further from float64 than the avx512 path";

  double scale = 0, worst_next = 0;
  for (float v : avx.prompt) scale = std::max(scale, std::fabs(static_cast<double>(v)));
  ASSERT_EQ(bf16.next.size(), nv);
  for (size_t i = 0; i < nv; ++i)
    worst_next = std::max(worst_next, std::fabs(static_cast<double>(bf16.next[i]) - avx.next[i]));
  EXPECT_LT(worst_next, 4e-2 * scale) << "decode after a bf16 prompt";
}

}  // namespace
}  // namespace r1::engine
