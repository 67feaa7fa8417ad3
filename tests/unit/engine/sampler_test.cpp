#include "r1/engine/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

namespace r1::engine {
namespace {

std::vector<token_candidate> make(const std::vector<float>& logits) {
  std::vector<token_candidate> c;
  for (size_t i = 0; i < logits.size(); ++i) c.push_back({static_cast<int32_t>(i), logits[i], 0});
  return c;
}

std::vector<int32_t> ids(const std::vector<token_candidate>& c) {
  std::vector<int32_t> out;
  for (const auto& t : c) out.push_back(t.id);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<double> softmax64(const std::vector<float>& l) {
  double mx = *std::max_element(l.begin(), l.end());
  double s = 0;
  std::vector<double> p(l.size());
  for (size_t i = 0; i < l.size(); ++i) s += (p[i] = std::exp(l[i] - mx));
  for (auto& v : p) v /= s;
  return p;
}

TEST(sampler, top_k_keeps_the_k_largest) {
  auto c = make({0.1f, 3.0f, -1.0f, 2.0f, 2.5f});
  sampler::apply_top_k(c, 2, 1);
  EXPECT_EQ(ids(c), (std::vector<int32_t>{1, 4}));
  auto all = make({1, 2, 3});
  sampler::apply_top_k(all, 0, 1);  // off
  EXPECT_EQ(all.size(), 3u);
}

TEST(sampler, top_p_keeps_the_crossing_token) {
  // probs of log(0.5), log(0.3), log(0.15), log(0.05)
  auto c = make({std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)});
  sampler::apply_top_p(c, 0.75f, 1);  // 0.5 + 0.3 crosses p: keep 2
  EXPECT_EQ(ids(c), (std::vector<int32_t>{0, 1}));
  auto d = make({std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)});
  sampler::apply_top_p(d, 0.85f, 1);  // needs the third
  EXPECT_EQ(ids(d), (std::vector<int32_t>{0, 1, 2}));
  auto e = make({std::log(0.9f), std::log(0.1f)});
  sampler::apply_top_p(e, 0.5f, 2);  // min_keep wins
  EXPECT_EQ(e.size(), 2u);
}

TEST(sampler, min_p_is_relative_to_the_best) {
  auto c = make({std::log(0.5f), std::log(0.3f), std::log(0.04f), std::log(0.16f)});
  sampler::apply_min_p(c, 0.1f, 1);  // threshold 0.05
  EXPECT_EQ(ids(c), (std::vector<int32_t>{0, 1, 3}));
}

TEST(sampler, typical_p_against_reference) {
  std::vector<float> l = {2.0f, 1.0f, 0.5f, -1.0f, -3.0f};
  auto p = softmax64(l);
  double h = 0;
  for (double v : p) h -= v * std::log(v);
  std::vector<std::pair<double, int>> s;
  for (int i = 0; i < 5; ++i) s.push_back({std::fabs(-std::log(p[i]) - h), i});
  std::sort(s.begin(), s.end());
  double cum = 0;
  std::vector<int32_t> want;
  for (auto& [score, i] : s) {
    cum += p[i];
    want.push_back(i);
    if (cum > 0.7) break;
  }
  std::sort(want.begin(), want.end());
  auto c = make(l);
  sampler::apply_typical(c, 0.7f, 1);
  EXPECT_EQ(ids(c), want);
}

TEST(sampler, penalties_follow_llama_cpp) {
  sampler_params p;
  p.repeat_penalty = 2.0f;
  p.frequency_penalty = 0.5f;
  p.presence_penalty = 0.25f;
  p.repeat_last_n = 3;
  sampler s(p);
  for (int32_t t : {0, 1, 1, 2}) s.accept(t);  // window keeps 1, 1, 2
  auto c = make({4.0f, 4.0f, -4.0f, 1.0f});
  s.apply_penalties(c);
  EXPECT_FLOAT_EQ(c[0].logit, 4.0f);                        // fell out of the window
  EXPECT_FLOAT_EQ(c[1].logit, 4.0f / 2 - 2 * 0.5f - 0.25f);  // count 2
  EXPECT_FLOAT_EQ(c[2].logit, -4.0f * 2 - 0.5f - 0.25f);     // negative: multiplied
  EXPECT_FLOAT_EQ(c[3].logit, 1.0f);
}

TEST(sampler, greedy_at_zero_temperature_sees_penalties) {
  sampler_params p;
  p.temperature = 0;
  p.repeat_penalty = 10.0f;
  sampler s(p);
  std::vector<float> l = {1.0f, 5.0f, 4.0f};
  EXPECT_EQ(s.sample(l), 1);
  s.accept(1);
  EXPECT_EQ(s.sample(l), 2);  // 5/10 < 4
}

TEST(sampler, seeded_draws_are_reproducible_and_follow_the_distribution) {
  sampler_params p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = 1234;
  std::vector<float> l = {std::log(0.5f), std::log(0.25f), std::log(0.125f), std::log(0.125f)};
  sampler a(p), b(p);
  std::map<int32_t, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    int32_t x = a.sample(l);
    ASSERT_EQ(x, b.sample(l));
    counts[x]++;
  }
  const double want[] = {0.5, 0.25, 0.125, 0.125};
  for (int i = 0; i < 4; ++i) {
    const double sd = std::sqrt(want[i] * (1 - want[i]) / n);
    EXPECT_NEAR(counts[i] / static_cast<double>(n), want[i], 5 * sd) << "token " << i;
  }
  p.seed = 99;
  sampler c(p);
  int differ = 0;
  sampler a2(sampler_params{a.params()});
  for (int i = 0; i < 50; ++i) differ += c.sample(l) != a2.sample(l);
  EXPECT_GT(differ, 0);
}

TEST(sampler, temperature_sharpens) {
  sampler_params p;
  p.temperature = 0.25f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = 7;
  sampler s(p);
  std::vector<float> l = {1.0f, 0.0f};
  // p(0) = 1 / (1 + e^-4) = 0.982
  int zero = 0;
  for (int i = 0; i < 5000; ++i) zero += s.sample(l) == 0;
  EXPECT_NEAR(zero / 5000.0, 1.0 / (1.0 + std::exp(-4.0)), 0.01);
}

TEST(sampler, top_logprobs_match_float64_log_softmax) {
  std::vector<float> l = {0.3f, -2.0f, 5.5f, 1.25f, 5.5f, -7.0f};
  auto p = softmax64(l);
  auto top = top_logprobs(l, 3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].id, 2);  // tie broken by id
  EXPECT_EQ(top[1].id, 4);
  EXPECT_EQ(top[2].id, 3);
  for (const auto& t : top) EXPECT_NEAR(t.logprob, std::log(p[t.id]), 1e-6);
  EXPECT_NEAR(token_logprob(l, 5), std::log(p[5]), 1e-5);
  EXPECT_EQ(top_logprobs(l, 100).size(), l.size());
}

}  // namespace
}  // namespace r1::engine
