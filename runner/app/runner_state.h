// What the HTTP threads of r1-runner share with the loader and the inference thread.
//
// The model loads on a background thread while the server already answers /health with
// "loading". phase moves loading -> ready (or error) exactly once, with release order, after
// every other member is set; readers check ready() (acquire) before touching them, and
// nothing is modified afterwards except through the inference loop's own synchronisation.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "constraint_setup.h"
#include "inference_loop.h"
#include "prompt_builder.h"
#include "r1/engine/context.h"
#include "r1/engine/model.h"
#include "r1/kernels/backend.h"
#include "r1/runner_protocol/messages.h"

namespace r1::runner {

enum class runner_phase { loading, ready, error };

struct runner_state {
  std::atomic<runner_phase> phase{runner_phase::loading};
  std::atomic<double> progress{0.0};
  std::string error;  // set before phase becomes error
  // Streaming responses not yet fully written; shutdown waits for them so that
  // cancelled requests still deliver their final chunk before the listener stops.
  std::atomic<int> open_streams{0};

  // Owns the GPU devices the context uses: declared first, destroyed last.
  std::unique_ptr<kernels::backend_registry> backends;
  std::unique_ptr<engine::model> model;
  std::unique_ptr<engine::context> ctx;
  std::unique_ptr<inference_loop> loop;
  constraint_cache constraints;   // structured output: the vocabulary index, built on first use
  std::unique_ptr<prompt_builder> prompts;
  runner_protocol::load_info info;

  bool ready() const { return phase.load(std::memory_order_acquire) == runner_phase::ready; }
};

}  // namespace r1::runner
