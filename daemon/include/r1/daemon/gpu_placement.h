// Where a model's runner goes on the GPUs, next to the runners already loaded.
//
// The scheduler accounts memory per device: each runner of this daemon holds some bytes on
// each GPU (planned before its load, measured by the runner once loaded) and some host bytes.
// place_model() is the pure arithmetic of that decision. Given the GPUs runners may use (each
// with the bytes our runners may hold there), what the loaded runners already hold on each,
// and the model's memory plan as a function of per-device budgets, it answers either
//   - place: the plan made against what is left on each GPU, which is as good as the plan on
//     empty GPUs (the same number of layers and the head in the same place) — including a
//     partial offload when the model does not fit even on empty GPUs; or
//   - make_room: the model would get fewer layers next to the others than on empty GPUs; the
//     runners holding memory on `contended` should go first (idle ones, least recently used;
//     the scheduler waits for busy ones), then place_model() is asked again.
// A plan the planner refuses even on empty GPUs (more layers demanded than fit, GPU layers for
// a CPU-only architecture) is returned as its error: never a silent CPU fallback.
//
// Thread safety: pure functions over plain values (plan_fn must be safe to call from the
// caller's thread). Errors: the planner's (resource_exhausted, invalid_argument), unchanged.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "r1/base/status.h"
#include "r1/planner/memory_plan.h"

namespace r1::daemon {

// A GPU the runners of this daemon may use.
struct gpu_device {
  std::string backend;  // "vulkan", "cuda"
  int index = 0;
  std::string name;
  bool software = false;  // device type "cpu" (Mesa's lavapipe): the runner uses it only for an explicit layer count
  uint64_t capacity = 0;  // bytes our runners may hold there (the gpu_memory_limit budget, else total - reserve)
};

// Bytes one runner holds (or is about to hold) on one GPU.
struct gpu_bytes {
  std::string backend;
  int index = 0;
  uint64_t bytes = 0;
};

// The model's memory plan for per-device budgets (free_memory = budget, reserve 0), with the
// load's context, slots, cache type and num_gpu already bound.
using plan_fn = std::function<result<planner::memory_plan>(std::span<const planner::device_budget>)>;

// What the scheduler needs to place one model: the GPUs its runner would use (by r1-runner's
// own device rule) and its plan. `devices` empty: the model is planned for the CPU only.
struct gpu_inputs {
  std::vector<gpu_device> devices;
  plan_fn plan;
  int num_gpu = -1;  // the load's layer request (-1: as many as fit)
};

struct placement {
  enum class verdict { place, make_room };
  verdict what = verdict::place;
  planner::memory_plan plan;             // place: what the runner is expected to do
  std::vector<gpu_bytes> gpus;           // place: planned bytes per GPU (devices with layers only)
  std::vector<gpu_bytes> remaining;      // place: per device, capacity minus what others hold
  std::vector<gpu_bytes> contended;      // make_room: GPUs whose other runners stand in the way (bytes: theirs)
  uint64_t host_bytes = 0;               // place: the plan's CPU share (weights, KV, scratch)
  bool full_offload = false;             // place: every layer and the head on GPUs
};

// Sums the bytes per device (same backend and index), in first-seen order.
std::vector<gpu_bytes> sum_by_device(std::span<const gpu_bytes> parts);

// See the file comment. `committed`: what other runners of ours hold, any order, repeats allowed.
result<placement> place_model(std::span<const gpu_device> devices, std::span<const gpu_bytes> committed,
                              const plan_fn& plan);

// The r1-runner flags that make its own plan match `p` (devices as given to place_model):
// one GPU: --main-gpu I and --gpu-memory-limit <what is left there>; a software device or a
// plan with no GPU layer: an explicit --n-gpu-layers. `num_gpu` >= 0 is passed by the caller.
std::vector<std::string> runner_args(const placement& p, std::span<const gpu_device> devices, int num_gpu);

}  // namespace r1::daemon
