#include "protocol_convert.h"

#include <random>

namespace r1::runner {

namespace rp = runner_protocol;

engine::generation_params to_generation_params(const rp::completion_request& r, bool reasoning_open) {
  engine::generation_params p;
  const rp::sampling_options& s = r.sampling;
  p.sampling.temperature = static_cast<float>(s.temperature);
  p.sampling.top_k = s.top_k;
  p.sampling.top_p = static_cast<float>(s.top_p);
  p.sampling.min_p = static_cast<float>(s.min_p);
  p.sampling.typical_p = static_cast<float>(s.typical_p);
  p.sampling.repeat_last_n = s.repeat_last_n;
  p.sampling.repeat_penalty = static_cast<float>(s.repeat_penalty);
  p.sampling.presence_penalty = static_cast<float>(s.presence_penalty);
  p.sampling.frequency_penalty = static_cast<float>(s.frequency_penalty);
  if (s.seed < 0) {
    std::random_device rd;
    p.sampling.seed = rd();
  } else {
    p.sampling.seed = static_cast<uint32_t>(s.seed);
  }
  p.n_predict = r.n_predict;
  p.stop = r.stop;
  p.n_probs = r.n_probs;
  p.prompt_logprobs = r.prompt_logprobs;
  p.cache_prompt = r.cache_prompt;
  p.split_reasoning = r.split_reasoning;
  p.reasoning_open = reasoning_open;
  p.reasoning_budget = r.reasoning_budget;
  return p;
}

namespace {

rp::token_logprob logprob_of(const engine::token_logprob_value& v, const engine::tokenizer& tok) {
  rp::token_logprob t;
  t.id = v.id;
  t.token = tok.token_piece(v.id, true);
  t.bytes.assign(t.token.begin(), t.token.end());
  t.logprob = v.logprob;
  return t;
}

rp::token_probs probs_of(const engine::token_probs_value& v, const engine::tokenizer& tok) {
  rp::token_probs p;
  p.chosen = logprob_of(v.chosen, tok);
  for (const auto& t : v.top) p.top.push_back(logprob_of(t, tok));
  return p;
}

}  // namespace

rp::completion_chunk to_chunk(const task_event& e, const engine::tokenizer& tok) {
  rp::completion_chunk c;
  if (!e.error.ok()) {
    c.done = true;
    c.stop_reason = "error";
    c.error = e.error.message();
    return c;
  }
  const engine::generation_output& o = e.out;
  c.content = o.content;
  c.thinking = o.thinking;
  c.tokens = o.tokens;
  for (const auto& p : o.probs) c.probs.push_back(probs_of(p, tok));
  for (const auto& p : o.prompt_probs) c.prompt_probs.push_back(probs_of(p, tok));
  c.done = o.done;
  if (o.done) {
    c.stop_reason = engine::stop_reason_name(o.reason);
    c.stop_word = o.stop_word;
    c.error = o.error;
    const engine::generation_stats& s = e.stats;
    c.truncated = s.truncated;
    c.timings.prompt_n = s.prompt_n;
    c.timings.prompt_ms = s.prompt_ms;
    c.timings.predicted_n = s.predicted_n;
    c.timings.predicted_ms = s.predicted_ms;
    c.timings.cached_n = s.cached_n;
    c.timings.prompt_tokens = s.prompt_tokens;
    c.timings.reasoning_tokens = s.reasoning_tokens;
  }
  return c;
}

void append_chunk(rp::completion_chunk& all, rp::completion_chunk c) {
  all.content += c.content;
  all.thinking += c.thinking;
  all.tokens.insert(all.tokens.end(), c.tokens.begin(), c.tokens.end());
  for (auto& p : c.probs) all.probs.push_back(std::move(p));
  for (auto& p : c.prompt_probs) all.prompt_probs.push_back(std::move(p));
  if (c.tool_calls.is_array()) {
    if (!all.tool_calls.is_array()) all.tool_calls = rp::json::array();
    for (auto& t : c.tool_calls) all.tool_calls.push_back(std::move(t));
  }
  if (c.done) {
    all.done = true;
    all.stop_reason = c.stop_reason;
    all.stop_word = c.stop_word;
    all.error = c.error;
    all.truncated = c.truncated;
    all.timings = c.timings;
  }
}

std::string dump_json(const rp::json& j) { return j.dump(-1, ' ', false, rp::json::error_handler_t::replace); }

}  // namespace r1::runner
