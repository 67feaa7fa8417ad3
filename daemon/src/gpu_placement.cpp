#include "r1/daemon/gpu_placement.h"

#include <algorithm>

namespace r1::daemon {

namespace {

bool same_device(const gpu_bytes& a, const std::string& backend, int index) {
  return a.backend == backend && a.index == index;
}

uint64_t bytes_on(std::span<const gpu_bytes> parts, const std::string& backend, int index) {
  uint64_t sum = 0;
  for (const auto& p : parts)
    if (same_device(p, backend, index)) sum += p.bytes;
  return sum;
}

std::vector<planner::device_budget> budgets(std::span<const gpu_device> devices, std::span<const gpu_bytes> committed) {
  std::vector<planner::device_budget> out;
  for (const auto& d : devices) {
    const uint64_t held = bytes_on(committed, d.backend, d.index);
    planner::device_budget b{d.backend, d.index, d.name, d.capacity > held ? d.capacity - held : 0};
    b.reserve = 0;  // the reserve is already out of capacity
    out.push_back(b);
  }
  return out;
}

bool head_on_gpu(const planner::memory_plan& p) { return !p.gpus.empty() && p.gpus.back().output; }

uint32_t expert_layers_on_gpus(const planner::memory_plan& p) {
  uint32_t n = 0;
  for (const auto& g : p.gpus) n += g.n_expert_layers;
  return n;
}

// `now` places as much of the model on GPUs as `best` (the plan on empty GPUs) does.
bool as_good(const planner::memory_plan& now, const planner::memory_plan& best) {
  return now.n_gpu_layers >= best.n_gpu_layers && head_on_gpu(now) == head_on_gpu(best) &&
         expert_layers_on_gpus(now) >= expert_layers_on_gpus(best);
}

placement placed(planner::memory_plan plan, std::span<const planner::device_budget> left) {
  placement p;
  p.what = placement::verdict::place;
  for (const auto& g : plan.gpus) p.gpus.push_back({g.backend, g.index, g.total()});
  for (const auto& b : left) p.remaining.push_back({b.backend, b.index, b.free_memory});
  p.host_bytes = plan.cpu.total();
  p.full_offload = plan.n_layer > 0 && plan.n_gpu_layers == plan.n_layer && head_on_gpu(plan);
  p.plan = std::move(plan);
  return p;
}

}  // namespace

std::vector<gpu_bytes> sum_by_device(std::span<const gpu_bytes> parts) {
  std::vector<gpu_bytes> out;
  for (const auto& p : parts) {
    auto it = std::find_if(out.begin(), out.end(), [&](const gpu_bytes& o) { return same_device(o, p.backend, p.index); });
    if (it == out.end()) out.push_back(p);
    else it->bytes += p.bytes;
  }
  return out;
}

result<placement> place_model(std::span<const gpu_device> devices, std::span<const gpu_bytes> committed,
                              const plan_fn& plan) {
  const std::vector<planner::device_budget> empty = budgets(devices, {});
  R1_ASSIGN_OR_RETURN(planner::memory_plan best, plan(empty));
  if (best.n_gpu_layers == 0 && best.gpus.empty()) return placed(std::move(best), empty);
  const std::vector<planner::device_budget> left = budgets(devices, committed);
  auto now = plan(left);
  if (now.ok() && as_good(*now, best)) return placed(std::move(*now), left);
  // Fewer layers next to the others than on empty GPUs: the GPUs the best plan uses and where
  // other runners hold memory must be cleared first.
  placement p;
  p.what = placement::verdict::make_room;
  for (const auto& g : best.gpus) {
    const uint64_t held = bytes_on(committed, g.backend, g.index);
    if (held > 0) p.contended.push_back({g.backend, g.index, held});
  }
  // Nothing of ours is in the way (the plan's own arithmetic disagrees with itself): place the best plan.
  if (p.contended.empty()) return placed(std::move(best), empty);
  return p;
}

std::vector<std::string> runner_args(const placement& p, std::span<const gpu_device> devices, int num_gpu) {
  std::vector<std::string> args;
  if (devices.empty() || p.what != placement::verdict::place) return args;
  const std::string layers = std::to_string(p.plan.n_gpu_layers);
  if (p.plan.n_gpu_layers == 0) {
    if (num_gpu < 0) args = {"--n-gpu-layers", "0"};
    return args;
  }
  bool software = false;
  for (const auto& g : p.plan.gpus)
    for (const auto& d : devices)
      if (d.backend == g.backend && d.index == g.index && d.software) software = true;
  // The runner uses a software device only for an explicit count.
  if (software && num_gpu < 0) args.insert(args.end(), {"--n-gpu-layers", layers});
  if (p.plan.gpus.size() == 1) {
    const auto& g = p.plan.gpus.front();
    args.insert(args.end(), {"--main-gpu", std::to_string(g.index), "--gpu-memory-limit",
                             std::to_string(bytes_on(p.remaining, g.backend, g.index))});
  }
  return args;
}

}  // namespace r1::daemon
