// Expert selection of a mixture-of-experts layer, as DeepSeek-V3/R1 files describe it.
//
//   moe_routing_params p{.n_expert = 256, .n_used = 8, .gating = moe_gating::sigmoid,
//                        .norm = true, .scale = 2.5f};
//   std::vector<float> work(moe_routing_work_size(p));
//   route_experts(p, logits, bias, ids, weights, work.data());
//
// Steps: probabilities from the router logits (softmax or sigmoid; softmax_weight keeps the raw
// logits), a selection score = probability + bias (the bias only chooses, it never weights),
// group-limited selection when n_groups > 1 (a group scores the sum of its two best selection
// scores; only the n_group_used best groups stay eligible), the n_used best experts (ties go to
// the lower id), their unbiased probabilities as weights (softmax_weight: a softmax over the
// chosen logits), divided by their sum when norm (floored at 6.103515625e-5), times scale when
// scale != 0.
//
// Pure function: thread safe, no allocation. Asserts on inconsistent parameters (the model
// loader validated them).
#pragma once

#include <cstddef>
#include <cstdint>

namespace r1::engine {

enum class moe_gating { softmax = 1, sigmoid = 2, softmax_weight = 3 };

struct moe_routing_params {
  int n_expert = 0;
  int n_used = 0;
  moe_gating gating = moe_gating::softmax;
  bool norm = false;
  float scale = 0;       // 0: no scaling
  int n_groups = 0;      // <= 1: no group limit
  int n_group_used = 0;
};

// Floats of scratch route_experts needs.
size_t moe_routing_work_size(const moe_routing_params& p);

// logits: n_expert router outputs; bias: n_expert values or nullptr. Writes n_used ids
// (best first) and their weights.
void route_experts(const moe_routing_params& p, const float* logits, const float* bias, int32_t* ids,
                   float* weights, float* work);

}  // namespace r1::engine
