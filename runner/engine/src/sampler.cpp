#include "r1/engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

namespace r1::engine {
namespace {

bool by_logit_desc(const token_candidate& a, const token_candidate& b) {
  if (a.logit != b.logit) return a.logit > b.logit;
  return a.id < b.id;
}

void sort_desc(std::vector<token_candidate>& c) { std::sort(c.begin(), c.end(), by_logit_desc); }

}  // namespace

sampler::sampler(const sampler_params& params) : params_(params), rng_(params.seed) {
  params_.min_keep = std::max<int32_t>(1, params_.min_keep);
}

void sampler::accept(int32_t token) {
  if (params_.repeat_last_n == 0) return;
  history_.push_back(token);
  // -1 keeps everything; otherwise keep a bounded window.
  if (params_.repeat_last_n > 0) {
    while (history_.size() > static_cast<size_t>(params_.repeat_last_n)) history_.pop_front();
  }
}

void sampler::reset_history() { history_.clear(); }

void sampler::softmax(std::vector<token_candidate>& c) {
  if (c.empty()) return;
  float max_logit = -std::numeric_limits<float>::infinity();
  for (const auto& t : c) max_logit = std::max(max_logit, t.logit);
  double sum = 0;
  for (auto& t : c) {
    const float e = std::isinf(t.logit) && t.logit < 0 ? 0.0f : std::exp(t.logit - max_logit);
    t.p = e;
    sum += e;
  }
  for (auto& t : c) t.p = static_cast<float>(t.p / sum);
}

void sampler::apply_penalties(std::vector<token_candidate>& c) const {
  const auto& p = params_;
  if (p.repeat_last_n == 0 || history_.empty()) return;
  if (p.repeat_penalty == 1.0f && p.frequency_penalty == 0.0f && p.presence_penalty == 0.0f) return;
  std::unordered_map<int32_t, int32_t> counts;
  for (int32_t t : history_) counts[t]++;
  for (auto& t : c) {
    auto it = counts.find(t.id);
    if (it == counts.end()) continue;
    if (t.logit <= 0) {
      t.logit *= p.repeat_penalty;
    } else {
      t.logit /= p.repeat_penalty;
    }
    t.logit -= static_cast<float>(it->second) * p.frequency_penalty + p.presence_penalty;
  }
}

void sampler::apply_top_k(std::vector<token_candidate>& c, int32_t k, int32_t min_keep) {
  if (k <= 0) return;
  k = std::max(k, min_keep);
  const size_t n = std::min<size_t>(static_cast<size_t>(k), c.size());
  std::partial_sort(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(n), c.end(), by_logit_desc);
  c.resize(n);
}

void sampler::apply_typical(std::vector<token_candidate>& c, float p, int32_t min_keep) {
  if (p >= 1.0f || c.size() <= 1) return;
  softmax(c);
  double entropy = 0;
  for (const auto& t : c) {
    if (t.p > 0) entropy -= t.p * std::log(static_cast<double>(t.p));
  }
  std::vector<std::pair<double, size_t>> shifted(c.size());
  for (size_t i = 0; i < c.size(); ++i) {
    const double nll = c[i].p > 0 ? -std::log(static_cast<double>(c[i].p)) : 1e30;
    shifted[i] = {std::fabs(nll - entropy), i};
  }
  std::stable_sort(shifted.begin(), shifted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  double cum = 0;
  size_t last = shifted.size();
  for (size_t i = 0; i < shifted.size(); ++i) {
    cum += c[shifted[i].second].p;
    if (cum > p && static_cast<int32_t>(i + 1) >= min_keep) {
      last = i + 1;
      break;
    }
  }
  std::vector<token_candidate> kept;
  kept.reserve(last);
  for (size_t i = 0; i < last; ++i) kept.push_back(c[shifted[i].second]);
  c.swap(kept);
}

void sampler::apply_top_p(std::vector<token_candidate>& c, float p, int32_t min_keep) {
  if (p >= 1.0f || c.size() <= 1) return;
  sort_desc(c);
  softmax(c);
  double cum = 0;
  size_t last = c.size();
  for (size_t i = 0; i < c.size(); ++i) {
    cum += c[i].p;
    if (cum >= p && static_cast<int32_t>(i + 1) >= min_keep) {
      last = i + 1;
      break;
    }
  }
  c.resize(last);
}

void sampler::apply_min_p(std::vector<token_candidate>& c, float p, int32_t min_keep) {
  if (p <= 0.0f || c.empty()) return;
  float max_logit = -std::numeric_limits<float>::infinity();
  for (const auto& t : c) max_logit = std::max(max_logit, t.logit);
  const float min_logit = max_logit + std::log(p);
  std::vector<token_candidate> kept;
  for (const auto& t : c) {
    if (t.logit >= min_logit) kept.push_back(t);
  }
  if (static_cast<int32_t>(kept.size()) < min_keep) {
    sort_desc(c);
    c.resize(std::min<size_t>(c.size(), static_cast<size_t>(min_keep)));
    return;
  }
  c.swap(kept);
}

void sampler::apply_temperature(std::vector<token_candidate>& c, float t) {
  if (c.empty()) return;
  if (t <= 0.0f) {
    auto best = std::min_element(c.begin(), c.end(), by_logit_desc);
    const token_candidate keep = *best;
    c.assign(1, keep);
    return;
  }
  for (auto& x : c) x.logit /= t;
}

int32_t sampler::draw(std::vector<token_candidate>& c) {
  softmax(c);
  double total = 0;
  for (const auto& t : c) total += t.p;
  std::uniform_real_distribution<double> dist(0.0, 1.0);
  const double target = dist(rng_) * total;
  double run = 0;
  for (const auto& t : c) {
    run += t.p;
    if (run >= target && t.p > 0) return t.id;
  }
  // Rounding left the target just above the sum: the last candidate with mass wins.
  for (auto it = c.rbegin(); it != c.rend(); ++it) {
    if (it->p > 0) return it->id;
  }
  return c.front().id;
}

int32_t sampler::sample(std::span<const float> logits) {
  cand_.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    cand_[i] = {static_cast<int32_t>(i), logits[i], 0.0f};
  }
  apply_penalties(cand_);
  if (params_.temperature <= 0.0f) {
    apply_temperature(cand_, 0.0f);
    return cand_.front().id;
  }
  apply_top_k(cand_, params_.top_k, params_.min_keep);
  apply_typical(cand_, params_.typical_p, params_.min_keep);
  apply_top_p(cand_, params_.top_p, params_.min_keep);
  apply_min_p(cand_, params_.min_p, params_.min_keep);
  apply_temperature(cand_, params_.temperature);
  return draw(cand_);
}

namespace {
double log_sum_exp(std::span<const float> logits, float* max_out) {
  float mx = -std::numeric_limits<float>::infinity();
  for (float v : logits) mx = std::max(mx, v);
  double sum = 0;
  for (float v : logits) sum += std::exp(static_cast<double>(v) - mx);
  *max_out = mx;
  return std::log(sum);
}
}  // namespace

std::vector<token_logprob_value> top_logprobs(std::span<const float> logits, int32_t n) {
  std::vector<token_logprob_value> out;
  if (n <= 0 || logits.empty()) return out;
  float mx = 0;
  const double lse = log_sum_exp(logits, &mx);
  std::vector<int32_t> idx(logits.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int32_t>(i);
  const size_t k = std::min<size_t>(static_cast<size_t>(n), idx.size());
  std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(),
                    [&](int32_t a, int32_t b) {
                      if (logits[a] != logits[b]) return logits[a] > logits[b];
                      return a < b;
                    });
  for (size_t i = 0; i < k; ++i) {
    out.push_back({idx[i], static_cast<float>(static_cast<double>(logits[idx[i]]) - mx - lse)});
  }
  return out;
}

float token_logprob(std::span<const float> logits, int32_t id) {
  if (id < 0 || static_cast<size_t>(id) >= logits.size()) return -std::numeric_limits<float>::infinity();
  float mx = 0;
  const double lse = log_sum_exp(logits, &mx);
  return static_cast<float>(static_cast<double>(logits[id]) - mx - lse);
}

}  // namespace r1::engine
