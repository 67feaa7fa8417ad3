// The inference thread of r1-runner: takes tasks from a queue, runs them in the context's
// slots and sends results to each task's channel. It never touches JSON; the HTTP threads
// parse requests into tasks and format events.
//
// Continuous batching: each turn, every generating slot contributes its next token and slots
// still reading their prompt contribute a chunk of it, and all of these rows are evaluated in
// one forward pass (context::decode_batch), so the weights are read once per turn for all
// slots. Prompt tokens per turn are bounded (n_batch, or n_batch/4 while other slots are
// generating, so a long new prompt does not stall their streams for long), shared between
// prompt-reading slots starting from a rotating one.
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
    // This turn: the output so far, and the rows it put in the batch (count 0: none).
    engine::generation_output out;
    bool stepped = false;
    size_t row0 = 0, n_rows = 0, logit0 = 0, n_logits = 0;
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
  // The halves of a turn: prepare the slots and collect their rows; evaluate the rows and
  // complete the slots; send each stepped slot's output.
  void plan_turn();
  void evaluate_turn();
  void send_turn();
  void cancel_all();

  engine::context& ctx_;
  std::vector<slot_state> slots_;
  uint64_t clock_ = 0;
  size_t prompt_turn_ = 0;  // the first prompt-reading slot offered tokens next turn
  std::vector<engine::batch_row> rows_;
  std::vector<float> logits_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<queued> pending_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace r1::runner
