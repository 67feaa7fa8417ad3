// The CUDA backend (r1::kernels_cuda): one .cu per op, built for sm_80 and
// sm_90 with PTX for newer GPUs. Same op list, limits and error contract as the
// Vulkan backend (vulkan_backend.h); kernels are plain CUDA C++ (no vendor
// libraries). Built only with -DR1_CUDA=ON.
//
// Decode steps as CUDA graphs: a stream's step (stream::begin_step .. end_step)
// of at most graph_max_tokens tokens is captured into a CUDA graph and launched
// as one unit; the executable graph kept per batch size is updated in place on
// later steps (cudaGraphExecUpdate) and re-instantiated when the update is
// refused. A capture or instantiation that fails falls back to launching the
// step's operations one by one, with a warning in the log. Results are bit for
// bit those of eager launches (same kernels, same arguments, same order).
#pragma once

#include <cstdint>
#include <memory>

#include "r1/kernels/backend.h"

namespace r1::kernels {

struct cuda_options {
  // Capture decode steps into CUDA graphs (the runner's switch to turn them off).
  bool graphs = true;
  // Steps of more tokens (prompt batches) are launched eagerly: they rarely repeat.
  int64_t graph_max_tokens = 8;
  // Testing aid: every capture is abandoned after it ended, as a refused
  // instantiation would be, so the eager fallback can be proven on any GPU.
  bool fail_graph_capture = false;
};

// unavailable when the driver cannot be initialised or reports no device.
result<std::unique_ptr<backend>> make_cuda_backend(const cuda_options& o = {});

// How the steps of a device's streams ran, summed over its streams since creation.
struct cuda_graph_stats {
  uint64_t graph_steps = 0;     // steps launched as a graph
  uint64_t instantiations = 0;  // executable graphs built (first use of a batch size, refused update)
  uint64_t updates = 0;         // executable graphs updated in place
  uint64_t eager_steps = 0;     // steps launched op by op (graphs off, too many tokens, fallback)
  uint64_t fallbacks = 0;       // steps whose capture failed and that ran eagerly instead
};
// Thread safe. Zeros for a device that is not a CUDA device.
cuda_graph_stats graph_stats(const device& d);

}  // namespace r1::kernels
