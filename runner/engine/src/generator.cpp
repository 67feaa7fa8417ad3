#include "r1/engine/generator.h"

#include <algorithm>
#include <limits>

#include "r1/base/assert.h"
#include "r1/engine/reasoning_splitter.h"

namespace r1::engine {

const char* stop_reason_name(stop_reason r) {
  switch (r) {
    case stop_reason::none: return "";
    case stop_reason::eog:
    case stop_reason::stop_string: return "stop";
    case stop_reason::length: return "length";
    case stop_reason::context: return "context";
    case stop_reason::cancelled: return "cancelled";
    case stop_reason::error: return "error";
  }
  return "error";
}

struct generator::reasoning {
  explicit reasoning(bool open) : splitter(open) {}
  reasoning_splitter splitter;
};

generator::generator(context& ctx, int seq) : ctx_(ctx), seq_(seq) {}
generator::~generator() = default;

status generator::start(std::vector<int32_t> prompt, const generation_params& p) {
  p_ = p;
  p_.n_probs = std::clamp(p_.n_probs, 0, 20);
  const int32_t n_ctx = ctx_.params().n_ctx;
  if (prompt.empty()) return invalid_argument("the prompt is empty");
  stats_ = {};
  if (static_cast<int64_t>(prompt.size()) >= n_ctx) {
    if (!p_.truncate) {
      return resource_exhausted("the prompt has " + std::to_string(prompt.size()) +
                                " tokens and does not fit in the context of " + std::to_string(n_ctx) +
                                " tokens per slot");
    }
    // Keep n_keep leading tokens and the most recent ones, leaving half the context to generate.
    const size_t keep = static_cast<size_t>(std::clamp(p_.n_keep, 0, n_ctx / 4));
    const size_t tail = static_cast<size_t>(n_ctx / 2) - keep;
    std::vector<int32_t> cut(prompt.begin(), prompt.begin() + static_cast<std::ptrdiff_t>(keep));
    cut.insert(cut.end(), prompt.end() - static_cast<std::ptrdiff_t>(tail), prompt.end());
    prompt.swap(cut);
    stats_.truncated = true;
  }
  prompt_ = std::move(prompt);
  int32_t reuse = 0;
  if (p_.cache_prompt && !p_.prompt_logprobs) {
    // At least one prompt token is always evaluated: its logits start the generation.
    reuse = std::min(ctx_.kv().common_prefix(seq_, prompt_), static_cast<int32_t>(prompt_.size()) - 1);
  }
  ctx_.kv().truncate(seq_, reuse);
  n_past_ = reuse;
  stats_.prompt_tokens = static_cast<int32_t>(prompt_.size());
  stats_.cached_n = reuse;
  sampler_ = std::make_unique<sampler>(p_.sampling);
  for (int32_t t : prompt_) sampler_->accept(t);
  const tokenizer& tok = ctx_.m().tok();
  detok_ = std::make_unique<detokenizer_stream>(tok);
  stops_ = std::make_unique<stop_matcher>(p_.stop);
  reasoning_ = p_.split_reasoning ? std::make_unique<reasoning>(p_.reasoning_open) : nullptr;
  matcher_.reset();
  if (p_.grammar) {
    if (!p_.grammar_vocab || p_.grammar_vocab->size() != tok.size()) {
      return invalid_argument("the constraint's vocabulary index does not match the model's vocabulary");
    }
    matcher_ = std::make_unique<constrain::matcher>(p_.grammar, p_.grammar_vocab);
    think_open_ = tok.find("<think>");
  }
  prompt_done_ = false;
  done_ = false;
  cancelled_ = false;
  n_generated_ = 0;
  forced_.clear();
  forced_pos_ = 0;
  budget_spent_ = false;
  t_start_ = std::chrono::steady_clock::now();
  return ok_status();
}

result<generation_output> generator::step() {
  generation_output out;
  step_input in;
  if (!prepare(out, in)) return out;
  const status s = ctx_.decode(seq_, in.tokens, in.pos, in.mode, rows_);
  complete(out, rows_, s);
  return out;
}

bool generator::prepare(generation_output& out, step_input& in, int32_t max_prompt) {
  in_flight_ = 0;
  if (done_) {
    out.done = true;
    return false;
  }
  if (cancelled_) {
    finish(out, stop_reason::cancelled);
    return false;
  }
  if (prompt_done_) {
    if (!generate_one(out)) return false;
    in.tokens = std::span<const int32_t>(last_token_, 1);
    in.pos = n_past_;
    in.mode = logits_mode::last;
    in_flight_ = 1;
    return true;
  }
  const size_t limit = static_cast<size_t>(max_prompt > 0 ? max_prompt : ctx_.params().n_batch);
  const size_t remaining = prompt_.size() - static_cast<size_t>(n_past_);
  const size_t n = std::min(remaining, limit);
  const bool last = n == remaining;
  in.tokens = std::span<const int32_t>(prompt_.data() + n_past_, n);
  in.pos = n_past_;
  in.mode = p_.prompt_logprobs ? logits_mode::all : last ? logits_mode::last : logits_mode::none;
  in_flight_ = static_cast<int32_t>(n);
  return true;
}

void generator::complete(generation_output& out, std::span<const float> logits, const status& eval) {
  const int32_t n = in_flight_;
  in_flight_ = 0;
  if (done_ || n == 0) return;
  if (!eval.ok()) {
    out.error = eval.message();
    finish(out, stop_reason::error);
    return;
  }
  const int64_t n_vocab = ctx_.m().hparams().n_vocab;
  const bool last = prompt_done_ || static_cast<size_t>(n_past_ + n) == prompt_.size();
  // The rows prepare() asked for: one for a generated token, n with prompt logprobs, else the
  // last chunk's one row or none.
  const size_t want_rows = prompt_done_ ? 1 : p_.prompt_logprobs ? static_cast<size_t>(n) : last ? 1 : 0;
  R1_ASSERT_MSG(logits.size() == want_rows * static_cast<size_t>(n_vocab), "generator::complete: wrong logits rows");
  if (prompt_done_) {
    logits_.assign(logits.begin(), logits.end());
    ++n_past_;
    return;
  }
  const std::span<const float> rows = logits;
  if (p_.prompt_logprobs) {
    for (int32_t i = 0; i < n; ++i) {
      const size_t g = static_cast<size_t>(n_past_ + i);
      if (g + 1 >= prompt_.size()) break;
      std::span<const float> row = rows.subspan(static_cast<size_t>(i) * static_cast<size_t>(n_vocab), static_cast<size_t>(n_vocab));
      const int32_t next = prompt_[g + 1];
      token_probs_value tp;
      tp.chosen = {next, token_logprob(row, next)};
      tp.top = top_logprobs(row, std::max(p_.n_probs, 1));
      out.prompt_probs.push_back(std::move(tp));
    }
    if (last) logits_.assign(rows.end() - n_vocab, rows.end());
  } else if (last) {
    logits_.assign(rows.begin(), rows.end());
  }
  n_past_ += n;
  stats_.prompt_n += n;
  if (last) prefill_done(out);
}

void generator::prefill_done(generation_output& out) {
  prompt_done_ = true;
  t_prompt_done_ = std::chrono::steady_clock::now();
  stats_.prompt_ms = std::chrono::duration<double, std::milli>(t_prompt_done_ - t_start_).count();
  if (p_.n_predict == 0) finish(out, stop_reason::length);
}

bool generator::generate_one(generation_output& out) {
  if (p_.n_predict >= 0 && n_generated_ >= p_.n_predict) {
    finish(out, stop_reason::length);
    return false;
  }
  const tokenizer& tok = ctx_.m().tok();
  bool constrained = false, think_open_allowed = false;
  if (matcher_) {
    constrained = !(reasoning_ && reasoning_->splitter.in_reasoning());
    // A model whose prompt did not open <think> may still start with it; then it reasons freely.
    think_open_allowed = constrained && reasoning_ && !reasoning_->splitter.reasoning_done() &&
                         matcher_->bytes_accepted() == 0 && think_open_ >= 0;
    if (!mask_logits(constrained, think_open_allowed)) {
      out.error = "the output constraint allows no token here";
      finish(out, stop_reason::error);
      return false;
    }
  }
  const std::vector<float>* logits = matcher_ ? &masked_ : &logits_;
  const size_t forced_before = forced_pos_;
  const int32_t id = next_token();
  if (tok.is_eog(id)) {
    finish(out, stop_reason::eog);
    return false;
  }
  // Forced tokens close the reasoning; the whitespace after </think> never reaches the answer.
  const bool forced = forced_pos_ != forced_before;
  if (constrained && !forced && !(think_open_allowed && id == think_open_)) {
    if (status s = matcher_->accept(id); !s.ok()) {
      out.error = s.message();
      finish(out, stop_reason::error);
      return false;
    }
  }
  sampler_->accept(id);
  ++n_generated_;
  ++stats_.predicted_n;
  if (reasoning_ && reasoning_->splitter.in_reasoning()) ++stats_.reasoning_tokens;
  out.tokens.push_back(id);
  if (p_.n_probs > 0) {
    token_probs_value tp;
    tp.chosen = {id, token_logprob(*logits, id)};
    tp.top = top_logprobs(*logits, p_.n_probs);
    out.probs.push_back(std::move(tp));
  }
  emit_text(out, stops_->feed(detok_->push(id)));
  if (stops_->matched()) {
    out.stop_word = stops_->stop_word();
    finish(out, stop_reason::stop_string);
    return false;
  }
  if (p_.n_predict >= 0 && n_generated_ >= p_.n_predict) {
    finish(out, stop_reason::length);
    return false;
  }
  if (n_past_ >= ctx_.params().n_ctx) {
    finish(out, stop_reason::context);
    return false;
  }
  last_token_[0] = id;
  return true;
}

int32_t generator::next_token() {
  if (forced_pos_ < forced_.size()) return forced_[forced_pos_++];
  if (reasoning_ && p_.reasoning_budget >= 0 && !budget_spent_ && !p_.reasoning_close.empty() &&
      reasoning_->splitter.in_reasoning() && stats_.reasoning_tokens >= p_.reasoning_budget) {
    budget_spent_ = true;
    forced_ = p_.reasoning_close;
    forced_pos_ = 0;
    return forced_[forced_pos_++];
  }
  return sampler_->sample(matcher_ ? masked_ : logits_);
}

bool generator::mask_logits(bool constrained, bool allow_think_open) {
  const size_t n = logits_.size();
  masked_.resize(n);
  constexpr float off = -std::numeric_limits<float>::infinity();
  if (!constrained) {
    // Free reasoning: anything but the end of generation, which would leave no answer.
    masked_.assign(logits_.begin(), logits_.end());
    for (int32_t e : p_.grammar_vocab->eog()) {
      if (static_cast<size_t>(e) < n) masked_[static_cast<size_t>(e)] = off;
    }
    return true;
  }
  matcher_->fill_mask(mask_);
  if (allow_think_open && static_cast<size_t>(think_open_) < n) {
    mask_[static_cast<size_t>(think_open_) >> 6] |= uint64_t{1} << (static_cast<uint32_t>(think_open_) & 63);
  }
  bool any = false;
  for (size_t i = 0; i < n; ++i) {
    const bool on = (mask_[i >> 6] >> (i & 63)) & 1u;
    masked_[i] = on ? logits_[i] : off;
    any = any || on;
  }
  return any;
}

void generator::emit_text(generation_output& out, const std::string& text) {
  if (text.empty()) return;
  if (!reasoning_) {
    out.content += text;
    return;
  }
  reasoning_chunk r = reasoning_->splitter.push(text);
  out.thinking += r.reasoning;
  out.content += r.content;
}

void generator::finish(generation_output& out, stop_reason r) {
  if (done_) return;
  if (r != stop_reason::stop_string && r != stop_reason::error) {
    // Whatever the detokenizer and the stop matcher held back was not a stop string.
    emit_text(out, stops_->feed(detok_->finish()));
    if (!stops_->matched()) emit_text(out, stops_->finish());
    if (stops_->matched()) {
      out.stop_word = stops_->stop_word();
      r = stop_reason::stop_string;
    }
  }
  if (reasoning_) {
    reasoning_chunk tail = reasoning_->splitter.finish();
    out.thinking += tail.reasoning;
    out.content += tail.content;
  }
  done_ = true;
  out.done = true;
  out.reason = r;
  const auto now = std::chrono::steady_clock::now();
  if (prompt_done_) stats_.predicted_ms = std::chrono::duration<double, std::milli>(now - t_prompt_done_).count();
}

}  // namespace r1::engine
