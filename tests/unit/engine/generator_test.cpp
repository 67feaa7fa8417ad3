// The generation loop on a tiny model: greedy continuation equals argmax decoding, prefix
// reuse, n_predict, context full, prompt logprobs, cancellation and prompts that do not fit.
#include <gtest/gtest.h>

#include <algorithm>

#include "r1/engine/context.h"
#include "r1/engine/generator.h"
#include "r1/engine/model.h"
#include "r1/mkmodel/make_model.h"
#include "r1/test_support/temp_dir.h"

namespace r1::engine {
namespace {

class generation : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test_support::temp_dir("engine-gen");
    auto s = mkmodel::preset("qwen2", "tiny");
    ASSERT_TRUE(s.ok());
    mkmodel::model_spec spec = *s;
    spec.type = "F32";
    spec.seed = 4;
    ASSERT_TRUE(mkmodel::write_model(spec, *dir_ / "m.gguf").ok());
    auto m = model::load({*dir_ / "m.gguf"});
    ASSERT_TRUE(m.ok()) << m.error().to_string();
    model_ = m->release();
  }
  static void TearDownTestSuite() {
    delete model_;
    delete dir_;
  }
  std::unique_ptr<context> make_ctx(int32_t n_ctx = 64) {
    auto c = context::create(*model_, {.n_ctx = n_ctx, .n_seq = 2, .kv_type = tensor_type::f32, .n_threads = 1, .n_batch = 8});
    EXPECT_TRUE(c.ok());
    return std::move(*c);
  }
  static generation_params greedy(int32_t n) {
    generation_params p;
    p.sampling.temperature = 0;
    p.n_predict = n;
    return p;
  }
  // Runs to the end; returns all tokens and the final output.
  static std::vector<int32_t> run(generator& g, generation_output* last = nullptr) {
    std::vector<int32_t> toks;
    while (!g.done()) {
      auto out = g.step();
      EXPECT_TRUE(out.ok());
      toks.insert(toks.end(), out->tokens.begin(), out->tokens.end());
      if (out->done && last) *last = *out;
    }
    return toks;
  }
  static test_support::temp_dir* dir_;
  static model* model_;
};
test_support::temp_dir* generation::dir_ = nullptr;
model* generation::model_ = nullptr;

TEST_F(generation, greedy_equals_argmax_decoding_and_reuses_the_prefix) {
  auto ctx = make_ctx();
  const std::vector<int32_t> prompt = {3, 14, 15, 92, 65, 35, 89, 79, 32, 38};  // two prefill chunks of 8
  generator g(*ctx, 0);
  ASSERT_TRUE(g.start(prompt, greedy(6)).ok());
  generation_output last;
  const std::vector<int32_t> got = run(g, &last);
  EXPECT_EQ(last.reason, g.stats().predicted_n == 6 ? stop_reason::length : stop_reason::eog);
  // Reference: argmax by hand in a fresh context.
  auto ref = make_ctx();
  std::vector<float> logits;
  ASSERT_TRUE(ref->decode(0, prompt, 0, logits_mode::last, logits).ok());
  std::vector<int32_t> want;
  for (size_t i = 0; i < got.size(); ++i) {
    const int32_t best = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    want.push_back(best);
    ASSERT_TRUE(ref->decode(0, std::span(&want.back(), 1), static_cast<int32_t>(prompt.size() + i), logits_mode::last, logits).ok());
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(g.stats().cached_n, 0);
  EXPECT_EQ(g.stats().prompt_n, 10);
  // The same conversation continued: everything cached is reused.
  std::vector<int32_t> next = prompt;
  next.insert(next.end(), got.begin(), got.end());
  next.push_back(7);
  generator g2(*ctx, 0);
  ASSERT_TRUE(g2.start(next, greedy(2)).ok());
  run(g2);
  EXPECT_EQ(g2.stats().cached_n, static_cast<int32_t>(prompt.size() + got.size() - 1));
  EXPECT_EQ(g2.stats().prompt_n, static_cast<int32_t>(next.size()) - g2.stats().cached_n);
  // Slot 1 holds nothing: no reuse there.
  generator g3(*ctx, 1);
  ASSERT_TRUE(g3.start(next, greedy(1)).ok());
  run(g3);
  EXPECT_EQ(g3.stats().cached_n, 0);
}

TEST_F(generation, limits_context_and_errors) {
  auto ctx = make_ctx(16);
  generator g(*ctx, 0);
  std::vector<int32_t> p(16, 5);
  const status too_long = g.start(p, greedy(1));
  EXPECT_EQ(too_long.code(), error_code::resource_exhausted);
  EXPECT_NE(too_long.message().find("16"), std::string::npos);
  generation_params trunc = greedy(1);
  trunc.truncate = true;
  trunc.n_keep = 1;
  ASSERT_TRUE(g.start(p, trunc).ok());
  EXPECT_TRUE(g.stats().truncated);
  EXPECT_EQ(g.stats().prompt_tokens, 8);
  run(g);
  EXPECT_EQ(g.start({}, greedy(1)).code(), error_code::invalid_argument);
  // Generation stops when the slot's context is full.
  generator full(*ctx, 1);
  generation_params unlimited = greedy(-1);
  ASSERT_TRUE(full.start({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, unlimited).ok());
  generation_output last;
  const auto toks = run(full, &last);
  if (last.reason != stop_reason::eog) {
    EXPECT_EQ(last.reason, stop_reason::context);
    EXPECT_EQ(toks.size(), 7u);  // positions 10..15 evaluated, plus the last sampled token
  }
  // n_predict 0 evaluates the prompt only.
  generator zero(*ctx, 0);
  ASSERT_TRUE(zero.start({1, 2, 3}, greedy(0)).ok());
  EXPECT_TRUE(run(zero, &last).empty());
  EXPECT_EQ(last.reason, stop_reason::length);
}

TEST_F(generation, prompt_logprobs_and_cancel) {
  auto ctx = make_ctx();
  generator g(*ctx, 0);
  generation_params p = greedy(3);
  p.prompt_logprobs = true;
  p.n_probs = 2;
  const std::vector<int32_t> prompt = {4, 8, 15, 16, 23, 42, 7, 9, 11, 13};
  ASSERT_TRUE(g.start(prompt, p).ok());
  std::vector<token_probs_value> pp;
  size_t gen_probs = 0;
  while (!g.done()) {
    auto out = g.step();
    ASSERT_TRUE(out.ok());
    pp.insert(pp.end(), out->prompt_probs.begin(), out->prompt_probs.end());
    gen_probs += out->probs.size();
  }
  ASSERT_EQ(pp.size(), prompt.size() - 1);
  EXPECT_EQ(gen_probs, static_cast<size_t>(g.stats().predicted_n));
  // Teacher forcing: position i predicts prompt[i+1], checked against a direct evaluation.
  auto ref = make_ctx();
  std::vector<float> all;
  ASSERT_TRUE(ref->decode(0, prompt, 0, logits_mode::all, all).ok());
  const size_t nv = model_->hparams().n_vocab;
  for (size_t i = 0; i + 1 < prompt.size(); ++i) {
    EXPECT_EQ(pp[i].chosen.id, prompt[i + 1]);
    EXPECT_FLOAT_EQ(pp[i].chosen.logprob, token_logprob(std::span(all.data() + i * nv, nv), prompt[i + 1]));
    ASSERT_EQ(pp[i].top.size(), 2u);
  }
  generator c(*ctx, 1);
  ASSERT_TRUE(c.start({1, 2, 3}, greedy(100)).ok());
  ASSERT_TRUE(c.step().ok());
  c.cancel();
  auto out = c.step();
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->done);
  EXPECT_EQ(out->reason, stop_reason::cancelled);
}

}  // namespace
}  // namespace r1::engine
