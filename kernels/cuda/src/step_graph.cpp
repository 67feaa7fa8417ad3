#include "step_graph.h"

#include <string>

namespace r1::kernels::cu {

namespace {

// Owns a captured graph until the executable is built or updated from it.
struct graph_holder {
  cudaGraph_t g = nullptr;
  ~graph_holder() {
    if (g != nullptr) cudaGraphDestroy(g);
  }
};

}  // namespace

step_graph::~step_graph() {
  for (entry& e : execs_) {
    if (e.exec != nullptr) cudaGraphExecDestroy(e.exec);
  }
}

status step_graph::launch(cudaStream_t s, int64_t n_tokens, bool refuse,
                          const std::function<status()>& enqueue, graph_counters& c) {
  // A launch error reported inside the capture must be this step's: drop one left by earlier calls
  // (each of those returned it already).
  (void)cudaGetLastError();
  R1_RETURN_IF_ERROR(
      cuda_status(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal), "begin capture"));
  const status queued = enqueue();
  graph_holder graph;
  // Always end the capture, even after a failed launch: the stream must leave capture mode.
  const cudaError_t ended = cudaStreamEndCapture(s, &graph.g);
  if (!queued.ok()) {
    (void)cudaGetLastError();
    return queued.with_context("capturing a step");
  }
  R1_RETURN_IF_ERROR(cuda_status(ended, "end capture"));
  if (graph.g == nullptr) return internal_error("cuda: end capture gave no graph");
  if (refuse) return internal_error("cuda: capture abandoned (fail_graph_capture is set)");
  cudaGraphExec_t exec = nullptr;
  R1_RETURN_IF_ERROR(prepare(graph.g, n_tokens, c, &exec));
  R1_RETURN_IF_ERROR(cuda_status(cudaGraphLaunch(exec, s), "graph launch"));
  c.graph_steps.fetch_add(1, std::memory_order_relaxed);
  return ok_status();
}

status step_graph::prepare(cudaGraph_t g, int64_t n_tokens, graph_counters& c, cudaGraphExec_t* out) {
  entry* e = nullptr;
  for (entry& x : execs_) {
    if (x.n_tokens == n_tokens) e = &x;
  }
  if (e != nullptr && e->exec != nullptr) {
    // Same batch size: normally the same kernels with new arguments (positions, KV length).
    cudaGraphExecUpdateResultInfo info{};
    if (cudaGraphExecUpdate(e->exec, g, &info) == cudaSuccess) {
      c.updates.fetch_add(1, std::memory_order_relaxed);
      *out = e->exec;
      return ok_status();
    }
    // Refused (the op list changed): the error is not sticky; build a new executable.
    (void)cudaGetLastError();
    cudaGraphExecDestroy(e->exec);
    e->exec = nullptr;
  }
  cudaGraphExec_t exec = nullptr;
  const cudaError_t r = cudaGraphInstantiate(&exec, g, 0);
  if (r != cudaSuccess) {
    (void)cudaGetLastError();
    return cuda_status(r, "graph instantiate");
  }
  c.instantiations.fetch_add(1, std::memory_order_relaxed);
  if (e == nullptr) e = &execs_.emplace_back();
  e->n_tokens = n_tokens;
  e->exec = exec;
  *out = exec;
  return ok_status();
}

}  // namespace r1::kernels::cu
