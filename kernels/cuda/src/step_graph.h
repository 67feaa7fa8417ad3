// Private: the CUDA graphs of one stream's steps (see cuda_backend.h).
//
// How per-token values reach the kernels: every step is captured again from the
// engine's op calls, and the executable graph kept for the batch size is then
// rewritten in place with cudaGraphExecUpdate. Positions for RoPE already live in
// a device buffer, but the KV length and query position of attention and the
// cache rows the KV stores write to are launch arguments: the op interface
// (backend.h) is shared by every backend and passes them by value. Moving them
// into device memory would change that interface, the engine and the kernels of
// every backend to save the update (tens of microseconds per step, against the
// launch gaps of hundreds of kernels that the graph removes). Re-capturing also
// keeps the engine free to change what a step queues: a different op list is
// only a refused update, answered by a new instantiation.
//
// Nothing inside the capture synchronises, allocates or copies to host memory:
// the stream records the step's operations (arguments checked when queued) and
// replays their launches here, between begin and end of the capture, so no other
// code runs while the stream captures. Capture is thread-local: a call that is
// unsafe during capture from this thread fails the capture; other threads are not
// disturbed.
//
// Ownership: owns the executable graphs (destroyed with it). Thread safety: none,
// like the stream that owns it.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "cuda_device.h"
#include "r1/base/status.h"

namespace r1::kernels::cu {

class step_graph {
 public:
  step_graph() = default;
  ~step_graph();
  step_graph(const step_graph&) = delete;
  step_graph& operator=(const step_graph&) = delete;

  // Captures what `enqueue` launches on `s` and launches it as one graph, reusing
  // (updating) the executable graph kept for n_tokens or instantiating one.
  // ok: the step is queued on `s`. An error (enqueue's, or the capture, update,
  // instantiation or launch failing; `refuse` forces one after the capture ended)
  // means nothing of the step was queued and `s` is no longer capturing: the
  // caller launches the step eagerly instead.
  status launch(cudaStream_t s, int64_t n_tokens, bool refuse, const std::function<status()>& enqueue,
                graph_counters& c);

 private:
  struct entry {
    int64_t n_tokens = 0;
    cudaGraphExec_t exec = nullptr;
  };
  // The executable for n_tokens after an update or instantiation from g.
  status prepare(cudaGraph_t g, int64_t n_tokens, graph_counters& c, cudaGraphExec_t* out);

  std::vector<entry> execs_;  // one per batch size seen (at most graph_max_tokens)
};

}  // namespace r1::kernels::cu
