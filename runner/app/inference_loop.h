// The inference thread of r1-runner: takes tasks from a queue, runs them in the context's
// slots (round-robin, one bounded step per slot per turn) and sends results to each task's
// channel. It never touches JSON; the HTTP threads parse requests into tasks and format
// events.
//
// Slot choice: a task that names a slot waits for it; otherwise it takes the free slot whose
// cached tokens share the longest prefix with its prompt (prompt-prefix reuse across requests
// of one conversation), else the least recently used one.
//
// Thread safety: submit() and stop() may be called from any thread. stop() cancels running
// and queued tasks (each gets a final event with reason "cancelled") and joins the thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "r1/engine/context.h"
#include "r1/engine/generator.h"
#include "task_channel.h"

namespace r1::runner {

struct completion_task {
  std::vector<int32_t> prompt;
  engine::generation_params params;
  int32_t slot = -1;
  std::shared_ptr<task_channel> channel;
};

struct embedding_task {
  std::vector<std::vector<int32_t>> inputs;
  bool normalize = true;
  std::shared_ptr<task_channel> channel;
};

class inference_loop {
 public:
  explicit inference_loop(engine::context& ctx);
  ~inference_loop();

  void start();
  void stop();
  // unavailable once stopping; invalid_argument for a slot that does not exist.
  status submit(completion_task t);
  status submit(embedding_task t);

 private:
  struct slot_state {
    std::unique_ptr<engine::generator> gen;
    std::shared_ptr<task_channel> channel;
    uint64_t last_used = 0;
  };
  struct queued {
    std::unique_ptr<completion_task> completion;
    std::unique_ptr<embedding_task> embedding;
  };

  void run();
  bool any_active() const;
  void assign_pending();
  int pick_slot(const completion_task& t) const;
  void start_completion(int slot, completion_task& t);
  void run_embedding(int slot, embedding_task& t);
  void step_slots();
  void cancel_all();

  engine::context& ctx_;
  std::vector<slot_state> slots_;
  uint64_t clock_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<queued> pending_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace r1::runner
