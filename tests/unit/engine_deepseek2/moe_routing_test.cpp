// Expert selection against hand-computed cases.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "r1/engine/moe_routing.h"

namespace r1::engine {
namespace {

struct routed {
  std::vector<int32_t> ids;
  std::vector<float> w;
};

routed run(const moe_routing_params& p, const std::vector<float>& logits, const std::vector<float>& bias = {}) {
  routed r{std::vector<int32_t>(static_cast<size_t>(p.n_used)), std::vector<float>(static_cast<size_t>(p.n_used))};
  std::vector<float> work(moe_routing_work_size(p));
  route_experts(p, logits.data(), bias.empty() ? nullptr : bias.data(), r.ids.data(), r.w.data(), work.data());
  return r;
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

TEST(moe_routing, sigmoid_top_k_with_norm_and_scale) {
  moe_routing_params p{.n_expert = 6, .n_used = 2, .gating = moe_gating::sigmoid, .norm = true, .scale = 2.5f};
  const auto r = run(p, {0.1f, 2.0f, -1.0f, 1.5f, 0.0f, 1.9f});
  ASSERT_EQ(r.ids, (std::vector<int32_t>{1, 5}));
  const double a = sigmoid(2.0), b = sigmoid(1.9);
  EXPECT_NEAR(r.w[0], 2.5 * a / (a + b), 1e-6);
  EXPECT_NEAR(r.w[1], 2.5 * b / (a + b), 1e-6);
}

TEST(moe_routing, bias_chooses_but_does_not_weight) {
  moe_routing_params p{.n_expert = 4, .n_used = 1, .gating = moe_gating::sigmoid, .norm = false, .scale = 0};
  // Expert 2 has the lower probability but the bias lifts it above expert 0.
  const auto r = run(p, {1.0f, -5.0f, 0.5f, -5.0f}, {0.0f, 0.0f, 0.2f, 0.0f});
  ASSERT_EQ(r.ids, (std::vector<int32_t>{2}));
  EXPECT_NEAR(r.w[0], sigmoid(0.5), 1e-6);  // unbiased
}

TEST(moe_routing, group_limit_applies_only_when_groups_are_given) {
  // Four groups of two. The single best expert (6) sits in group 3, whose other member is poor;
  // groups 0 and 1 have the best pair sums.
  const std::vector<float> l = {2.0f, 1.8f, 1.9f, 1.7f, -3.0f, -3.0f, 3.0f, -4.0f};
  moe_routing_params p{.n_expert = 8, .n_used = 2, .gating = moe_gating::softmax_weight, .norm = false, .scale = 0};
  EXPECT_EQ(run(p, l).ids, (std::vector<int32_t>{6, 0}));
  p.n_groups = 4;
  p.n_group_used = 2;
  // Pair sums: g0 3.8, g1 3.6, g2 -6, g3 -1 → groups 0 and 1 stay; expert 6 is out.
  const auto r = run(p, l);
  EXPECT_EQ(r.ids, (std::vector<int32_t>{0, 2}));
  const double e0 = std::exp(2.0), e2 = std::exp(1.9);
  EXPECT_NEAR(r.w[0], e0 / (e0 + e2), 1e-6);  // softmax over the chosen logits
  p.n_group_used = 4;  // every group kept: same as no limit
  EXPECT_EQ(run(p, l).ids, (std::vector<int32_t>{6, 0}));
}

TEST(moe_routing, softmax_probabilities_and_ties_to_the_lower_id) {
  moe_routing_params p{.n_expert = 4, .n_used = 2, .gating = moe_gating::softmax, .norm = false, .scale = 0};
  const auto r = run(p, {1.0f, 3.0f, 3.0f, 3.0f});
  EXPECT_EQ(r.ids, (std::vector<int32_t>{1, 2}));
  const double z = std::exp(1.0) + 3 * std::exp(3.0);
  EXPECT_NEAR(r.w[0], std::exp(3.0) / z, 1e-6);
}

TEST(moe_routing, tiny_weight_sums_are_floored) {
  moe_routing_params p{.n_expert = 3, .n_used = 1, .gating = moe_gating::sigmoid, .norm = true, .scale = 0};
  const auto r = run(p, {-30.0f, -40.0f, -50.0f});
  EXPECT_EQ(r.ids[0], 0);
  // sigmoid(-30) ≈ 9.4e-14 is below the floor 6.1e-5: the weight stays tiny, not 1.
  EXPECT_NEAR(r.w[0], sigmoid(-30.0) / 6.103515625e-5, 1e-12);
}

}  // namespace
}  // namespace r1::engine
