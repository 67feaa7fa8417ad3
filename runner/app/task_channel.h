// The queue between the inference thread and one HTTP request: events out, a cancel flag in.
//
// The inference thread push()es events (a step of generation, or a final result) and close()s
// the channel with the last one; the HTTP thread pop()s them. Shared by exactly those two
// threads, whose lifetimes differ (a client may vanish mid-stream while its slot still runs),
// hence shared_ptr ownership. Thread safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "r1/base/status.h"
#include "r1/engine/generator.h"

namespace r1::runner {

struct task_event {
  engine::generation_output out;
  // Set on the last event of a completion:
  engine::generation_stats stats;
  // Embedding tasks: one vector per input, and the tokens evaluated.
  std::vector<std::vector<float>> embeddings;
  int32_t prompt_tokens = 0;
  // A task that failed before it produced anything (bad prompt, shutdown).
  status error;
};

class task_channel {
 public:
  void push(task_event e, bool last) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back(std::move(e));
      if (last) closed_ = true;
    }
    cv_.notify_all();
  }
  // Waits up to `wait` for an event; nullopt on timeout. `finished` turns true once the last
  // event has been taken.
  std::optional<task_event> pop(std::chrono::milliseconds wait, bool* finished) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, wait, [&] { return !events_.empty(); });
    *finished = false;
    if (events_.empty()) return std::nullopt;
    task_event e = std::move(events_.front());
    events_.pop_front();
    *finished = closed_ && events_.empty();
    return e;
  }
  void cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<task_event> events_;
  bool closed_ = false;
  std::atomic<bool> cancelled_{false};
};

}  // namespace r1::runner
