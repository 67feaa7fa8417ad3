// Which GPUs a serving runner uses and which layers go there (the memory plan before the
// context is created).
//
// load_backends() gives the CPU backend and the GPU backends of the plugin directory
// (--backend-dir / R1_BACKEND_DIR, else ../lib/r1/backends next to the executable; none with
// --no-gpu); `r1-runner --list-devices` prints them.
//
// plan_gpus() loads the backends (unless GPUs are disabled), picks the devices of the
// first GPU backend that has any (CUDA before Vulkan: one backend per physical GPU; --main-gpu
// keeps one device), plans with r1::planner and maps the plan's GPU shares to devices for
// engine::context_params::gpus. With n_gpu_layers = -1 (as many as fit) software devices
// (device type "cpu", e.g. Mesa's lavapipe) are skipped: they are slower than the CPU path;
// an explicit layer count uses them.
//
// Ownership: the returned registry owns the devices the offload points at; keep it alive
// longer than the context. Thread safety: call from one thread.
// Errors: resource_exhausted when the requested layers do not fit (the plan's message), or
// when layers are requested and there is no usable GPU (with each backend's reason);
// invalid_argument for GPU layers of a model or cache type that cannot have them.
#pragma once

#include <memory>
#include <vector>

#include "r1/engine/context.h"
#include "r1/engine/model.h"
#include "r1/kernels/backend.h"
#include "r1/kernels/plugin_loader.h"
#include "r1/planner/memory_plan.h"
#include "runner_options.h"

namespace r1::runner {

struct gpu_choice {
  std::unique_ptr<kernels::backend_registry> registry;  // null when GPUs are disabled
  std::vector<engine::gpu_offload> offload;             // for context_params::gpus
  planner::memory_plan plan;
};

// Never fails: plugins that cannot load are reported in the result (see plugin_loader.h).
kernels::loaded_backends load_backends(const serve_options& o, int cpu_threads);

// n_ctx: the context per slot the context will really use (after 0 -> trained length).
result<gpu_choice> plan_gpus(const engine::model& m, const serve_options& o, tensor_type kv_type, int32_t n_ctx);

}  // namespace r1::runner
