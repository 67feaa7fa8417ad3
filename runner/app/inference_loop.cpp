#include "inference_loop.h"

#include <algorithm>
#include <cmath>
#include <span>

#include "r1/base/log.h"

namespace r1::runner {

inference_loop::inference_loop(engine::context& ctx) : ctx_(ctx) {
  slots_.resize(static_cast<size_t>(ctx.params().n_seq));
}

inference_loop::~inference_loop() { stop(); }

void inference_loop::start() { thread_ = std::thread([this] { run(); }); }

void inference_loop::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

status inference_loop::submit(completion_task t) {
  if (t.slot >= static_cast<int32_t>(slots_.size())) {
    return invalid_argument("slot " + std::to_string(t.slot) + " does not exist (the runner has " +
                            std::to_string(slots_.size()) + ")");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return unavailable("the runner is shutting down");
    queued q;
    q.completion = std::make_unique<completion_task>(std::move(t));
    pending_.push_back(std::move(q));
  }
  cv_.notify_all();
  return ok_status();
}

status inference_loop::submit(embedding_task t) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return unavailable("the runner is shutting down");
    queued q;
    q.embedding = std::make_unique<embedding_task>(std::move(t));
    pending_.push_back(std::move(q));
  }
  cv_.notify_all();
  return ok_status();
}

bool inference_loop::any_active() const {
  for (const auto& s : slots_) {
    if (s.gen) return true;
  }
  return false;
}

int inference_loop::pick_slot(const completion_task& t) const {
  if (t.slot >= 0) return slots_[static_cast<size_t>(t.slot)].gen ? -1 : t.slot;
  int best = -1;
  int32_t best_prefix = -1;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].gen) continue;
    const int32_t prefix = ctx_.kv().common_prefix(static_cast<int>(i), t.prompt);
    if (best < 0 || prefix > best_prefix ||
        (prefix == best_prefix && slots_[i].last_used < slots_[static_cast<size_t>(best)].last_used)) {
      best = static_cast<int>(i);
      best_prefix = prefix;
    }
  }
  return best;
}

void inference_loop::start_completion(int slot, completion_task& t) {
  slot_state& s = slots_[static_cast<size_t>(slot)];
  auto gen = std::make_unique<engine::generator>(ctx_, slot);
  status st = gen->start(std::move(t.prompt), t.params);
  if (!st.ok()) {
    task_event e;
    e.error = st;
    t.channel->push(std::move(e), true);
    return;
  }
  s.gen = std::move(gen);
  s.channel = t.channel;
  s.last_used = ++clock_;
}

void inference_loop::run_embedding(int slot, embedding_task& t) {
  task_event e;
  std::vector<float> hidden;
  const int64_t n_embd = ctx_.m().hparams().n_embd;
  for (const auto& input : t.inputs) {
    status st = input.empty() ? invalid_argument("an embedding input is empty")
                              : ctx_.hidden(slot, input, 0, hidden);
    if (!st.ok()) {
      e = {};
      e.error = st;
      break;
    }
    // Mean of the final normalised hidden states over the input's tokens.
    std::vector<double> acc(static_cast<size_t>(n_embd), 0.0);
    for (size_t r = 0; r < input.size(); ++r) {
      for (int64_t j = 0; j < n_embd; ++j) acc[static_cast<size_t>(j)] += hidden[r * static_cast<size_t>(n_embd) + static_cast<size_t>(j)];
    }
    double norm = 0;
    for (double& v : acc) {
      v /= static_cast<double>(input.size());
      norm += v * v;
    }
    norm = std::sqrt(norm);
    std::vector<float> out(acc.size());
    for (size_t j = 0; j < acc.size(); ++j) out[j] = static_cast<float>(t.normalize && norm > 0 ? acc[j] / norm : acc[j]);
    e.embeddings.push_back(std::move(out));
    e.prompt_tokens += static_cast<int32_t>(input.size());
  }
  ctx_.kv().truncate(slot, 0);  // the slot's cache no longer matches any conversation
  slots_[static_cast<size_t>(slot)].last_used = ++clock_;
  e.out.done = true;
  t.channel->push(std::move(e), true);
}

void inference_loop::assign_pending() {
  std::unique_lock<std::mutex> lock(mu_);
  for (auto it = pending_.begin(); it != pending_.end();) {
    int slot = -1;
    if (it->completion) {
      slot = pick_slot(*it->completion);
    } else {
      for (size_t i = 0; i < slots_.size() && slot < 0; ++i) {
        if (!slots_[i].gen) slot = static_cast<int>(i);
      }
    }
    if (slot < 0) {
      ++it;
      continue;
    }
    queued q = std::move(*it);
    it = pending_.erase(it);
    lock.unlock();
    if (q.completion) {
      start_completion(slot, *q.completion);
    } else {
      run_embedding(slot, *q.embedding);
    }
    lock.lock();
  }
}

void inference_loop::step_slots() {
  plan_turn();
  evaluate_turn();
  send_turn();
}

void inference_loop::plan_turn() {
  rows_.clear();
  size_t n_logits = 0;
  const int32_t n_batch = ctx_.params().n_batch;
  int32_t generating = 0;
  for (auto& s : slots_) generating += s.gen && s.gen->prompt_done() ? 1 : 0;
  int32_t prompt_budget = generating > 0 ? std::max(n_batch / 4, 1) : n_batch;
  prompt_budget = std::max(prompt_budget - generating, 1);
  const size_t n = slots_.size();
  for (size_t k = 0; k < n; ++k) {
    // From a rotating start, so prompt readers take turns at the prompt budget.
    slot_state& s = slots_[(prompt_turn_ + k) % n];
    s.stepped = false;
    s.n_rows = s.n_logits = 0;
    if (!s.gen) continue;
    if (s.channel->cancelled()) s.gen->cancel();
    const bool reading = !s.gen->prompt_done() && !s.gen->done();
    if (reading && prompt_budget <= 0 && !s.channel->cancelled()) continue;  // waits for a later turn
    s.out = {};
    s.stepped = true;
    engine::step_input in;
    if (!s.gen->prepare(s.out, in, reading ? prompt_budget : 0)) continue;
    if (reading) prompt_budget -= static_cast<int32_t>(in.tokens.size());
    s.row0 = rows_.size();
    s.n_rows = in.tokens.size();
    s.logit0 = n_logits;
    for (size_t i = 0; i < in.tokens.size(); ++i) {
      const bool want = in.mode == engine::logits_mode::all || (in.mode == engine::logits_mode::last && i + 1 == in.tokens.size());
      rows_.push_back({s.gen->seq(), in.pos + static_cast<int32_t>(i), in.tokens[i], want});
      s.n_logits += want ? 1 : 0;
    }
    n_logits += s.n_logits;
  }
  prompt_turn_ = (prompt_turn_ + 1) % n;
}

void inference_loop::evaluate_turn() {
  if (rows_.empty()) return;
  const status st = ctx_.decode_batch(rows_, logits_);
  const size_t n_vocab = ctx_.m().hparams().n_vocab;
  std::vector<float> own;
  for (auto& s : slots_) {
    if (!s.stepped || s.n_rows == 0) continue;
    if (st.ok()) {
      // Rows were collected from a rotating start: each slot knows where its logits are.
      s.gen->complete(s.out, std::span<const float>(logits_).subspan(s.logit0 * n_vocab, s.n_logits * n_vocab), st);
      continue;
    }
    // One slot's failure must not end the others: each evaluates its rows alone.
    const engine::batch_row* r = rows_.data() + s.row0;
    const status own_st = ctx_.decode_batch(std::span<const engine::batch_row>(r, s.n_rows), own);
    s.gen->complete(s.out, own, own_st);
  }
}

void inference_loop::send_turn() {
  for (auto& s : slots_) {
    if (!s.stepped) continue;
    s.stepped = false;
    task_event e;
    e.out = std::move(s.out);
    s.out = {};
    const bool last = e.out.done;
    if (last) e.stats = s.gen->stats();
    // Steps that produced nothing visible are not sent (prompt chunks, held-back text).
    if (last || !e.out.tokens.empty() || !e.out.prompt_probs.empty()) s.channel->push(std::move(e), last);
    if (last) {
      s.gen.reset();
      s.channel.reset();
    }
  }
}

void inference_loop::cancel_all() {
  for (auto& s : slots_) {
    if (s.gen) s.gen->cancel();
  }
  while (any_active()) step_slots();
  std::deque<queued> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    left.swap(pending_);
  }
  for (auto& q : left) {
    task_event e;
    e.error = cancelled("the runner is shutting down");
    auto& ch = q.completion ? q.completion->channel : q.embedding->channel;
    ch->push(std::move(e), true);
  }
}

void inference_loop::run() {
  R1_LOG(debug, "runner") << "inference thread started";
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !pending_.empty() || any_active(); });
      if (stopping_) break;
    }
    assign_pending();
    step_slots();
  }
  cancel_all();
  R1_LOG(debug, "runner") << "inference thread stopped";
}

}  // namespace r1::runner
