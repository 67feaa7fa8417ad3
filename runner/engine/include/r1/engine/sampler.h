// The token sampler: llama.cpp's default chain and defaults.
//
// Order: penalties -> top_k -> typical_p -> top_p -> min_p -> temperature -> seeded draw
// (std::mt19937). temperature <= 0 is greedy (argmax of the penalised logits). Each stage
// with its "off" value (top_k <= 0, typical_p >= 1, top_p >= 1, min_p <= 0) is skipped.
//
// Ownership: a sampler owns its candidate buffer, its token history (for penalties) and its
// RNG. Thread safety: none; one sampler per generating sequence.
// Errors: none; parameters are clamped to their valid ranges at construction.
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <span>
#include <vector>

namespace r1::engine {

struct sampler_params {
  float temperature = 0.8f;
  int32_t top_k = 40;
  float top_p = 0.95f;
  float min_p = 0.05f;
  float typical_p = 1.0f;
  int32_t repeat_last_n = 64;    // 0: no penalties; -1: the whole history
  float repeat_penalty = 1.0f;
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  uint32_t seed = 0;             // already resolved (a random seed is chosen by the caller)
  int32_t min_keep = 1;
};

struct token_candidate {
  int32_t id;
  float logit;
  float p;
};

class sampler {
 public:
  explicit sampler(const sampler_params& params);

  // Chooses the next token from raw logits (n_vocab values). Does not record it: call accept().
  int32_t sample(std::span<const float> logits);

  // Records a token (prompt or generated) in the penalty history.
  void accept(int32_t token);
  void reset_history();

  const sampler_params& params() const { return params_; }

  // The stages, public so tests can check each one on its own. All operate on `c` in place.
  void apply_penalties(std::vector<token_candidate>& c) const;
  static void apply_top_k(std::vector<token_candidate>& c, int32_t k, int32_t min_keep);
  static void apply_typical(std::vector<token_candidate>& c, float p, int32_t min_keep);
  static void apply_top_p(std::vector<token_candidate>& c, float p, int32_t min_keep);
  static void apply_min_p(std::vector<token_candidate>& c, float p, int32_t min_keep);
  static void apply_temperature(std::vector<token_candidate>& c, float t);
  // Softmax over the candidates' logits into p (max-subtracted, summed in double).
  static void softmax(std::vector<token_candidate>& c);

 private:
  int32_t draw(std::vector<token_candidate>& c);

  sampler_params params_;
  std::mt19937 rng_;
  std::deque<int32_t> history_;
  std::vector<token_candidate> cand_;
};

// Top-N log-probabilities of the full distribution given by raw logits (log-softmax, no
// sampling stages applied, as llama-server reports them), most likely first, ties by id.
struct token_logprob_value {
  int32_t id;
  float logprob;
};
std::vector<token_logprob_value> top_logprobs(std::span<const float> logits, int32_t n);
// log-softmax value of one token.
float token_logprob(std::span<const float> logits, int32_t id);

}  // namespace r1::engine
