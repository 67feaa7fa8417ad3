#include "r1/engine/moe_routing.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "r1/base/assert.h"

namespace r1::engine {
namespace {

constexpr float k_neg_inf = -std::numeric_limits<float>::infinity();

// Index of the largest value in v[0..n) that is not excluded (-inf counts as excluded once
// chosen values are marked); lower index wins ties. -1 when every value is -inf or NaN.
int argmax(const float* v, int n) {
  int best = -1;
  for (int i = 0; i < n; ++i) {
    if (!(v[i] > k_neg_inf)) continue;
    if (best < 0 || v[i] > v[best]) best = i;
  }
  return best;
}

void limit_groups(const moe_routing_params& p, float* sel, float* group_score) {
  const int per = p.n_expert / p.n_groups;
  for (int g = 0; g < p.n_groups; ++g) {
    const float* s = sel + g * per;
    float a = k_neg_inf, b = k_neg_inf;  // the two largest
    for (int i = 0; i < per; ++i) {
      if (s[i] > a) {
        b = a;
        a = s[i];
      } else if (s[i] > b) {
        b = s[i];
      }
    }
    group_score[g] = per >= 2 ? a + b : a;
  }
  // Keep the n_group_used best groups: mark them by moving their score out of the way.
  for (int k = 0; k < p.n_group_used; ++k) {
    const int g = argmax(group_score, p.n_groups);
    if (g < 0) break;
    group_score[g] = std::numeric_limits<float>::quiet_NaN();  // kept
  }
  for (int g = 0; g < p.n_groups; ++g) {
    if (std::isnan(group_score[g])) continue;
    std::fill(sel + g * per, sel + (g + 1) * per, k_neg_inf);
  }
}

}  // namespace

size_t moe_routing_work_size(const moe_routing_params& p) {
  return 2 * static_cast<size_t>(p.n_expert) + static_cast<size_t>(std::max(p.n_groups, 1));
}

void route_experts(const moe_routing_params& p, const float* logits, const float* bias, int32_t* ids,
                   float* weights, float* work) {
  R1_ASSERT(p.n_expert > 0 && p.n_used > 0 && p.n_used <= p.n_expert);
  R1_ASSERT(p.n_groups <= 1 || (p.n_expert % p.n_groups == 0 && p.n_group_used > 0 && p.n_group_used <= p.n_groups));
  const int n = p.n_expert;
  float* probs = work;
  float* sel = work + n;
  float* group_score = work + 2 * n;
  switch (p.gating) {
    case moe_gating::softmax: {
      const float mx = *std::max_element(logits, logits + n);
      double sum = 0;
      for (int i = 0; i < n; ++i) sum += (probs[i] = std::exp(logits[i] - mx));
      for (int i = 0; i < n; ++i) probs[i] = static_cast<float>(probs[i] / sum);
      break;
    }
    case moe_gating::sigmoid:
      for (int i = 0; i < n; ++i) probs[i] = 1.0f / (1.0f + std::exp(-logits[i]));
      break;
    case moe_gating::softmax_weight:
      std::copy(logits, logits + n, probs);
      break;
  }
  for (int i = 0; i < n; ++i) sel[i] = bias != nullptr ? probs[i] + bias[i] : probs[i];
  if (p.n_groups > 1 && p.n_group_used < p.n_groups) limit_groups(p, sel, group_score);
  for (int k = 0; k < p.n_used; ++k) {
    int e = argmax(sel, n);
    if (e < 0) {  // fewer eligible experts than n_used (NaN logits): take any unchosen one
      e = 0;
      while (std::find(ids, ids + k, e) != ids + k) ++e;
    }
    ids[k] = e;
    weights[k] = probs[e];
    sel[e] = k_neg_inf;
  }
  if (p.gating == moe_gating::softmax_weight) {
    const float mx = *std::max_element(weights, weights + p.n_used);
    double sum = 0;
    for (int k = 0; k < p.n_used; ++k) sum += (weights[k] = std::exp(weights[k] - mx));
    for (int k = 0; k < p.n_used; ++k) weights[k] = static_cast<float>(weights[k] / sum);
  }
  if (p.norm) {
    double sum = 0;
    for (int k = 0; k < p.n_used; ++k) sum += weights[k];
    const float inv = static_cast<float>(1.0 / std::max(sum, 6.103515625e-5));
    for (int k = 0; k < p.n_used; ++k) weights[k] *= inv;
  }
  if (p.scale != 0) {
    for (int k = 0; k < p.n_used; ++k) weights[k] *= p.scale;
  }
}

}  // namespace r1::engine
