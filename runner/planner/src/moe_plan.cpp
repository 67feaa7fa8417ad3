// MoE placement: llama.cpp users run DeepSeek-R1 with "-ngl 99 -ot exps=CPU" (all
// attention, shared experts and KV on the GPU, the routed experts in host memory),
// then move the experts of a few layers back to the GPU while memory is left.
// This file computes that split from tensor sizes.
#include <algorithm>

#include "plan_internal.h"

namespace r1::planner::detail {

namespace {

struct gpu_slot {
  device_share share;
  uint64_t usable = 0;
};

struct layer_sizes {
  std::vector<uint64_t> dense, experts;
  uint64_t output = 0, other = 0;
};

layer_sizes split_sizes(const gguf::model_params& p, std::span<const tensor_size> tensors, memory_plan* plan) {
  layer_sizes s;
  s.dense.assign(p.n_layer, 0);
  s.experts.assign(p.n_layer, 0);
  for (const auto& t : tensors) {
    plan->weight_bytes += t.bytes;
    const int il = layer_of(t.name);
    if (il >= 0 && static_cast<uint32_t>(il) < p.n_layer) {
      (is_routed_expert(t.name) ? s.experts : s.dense)[static_cast<size_t>(il)] += t.bytes;
      if (is_routed_expert(t.name)) plan->expert_bytes += t.bytes;
    } else if (t.name == "output.weight" || t.name == "output_norm.weight") {
      s.output += t.bytes;
    } else {
      s.other += t.bytes;
    }
  }
  return s;
}

std::string device_name(const device_share& s) { return s.backend + ":" + std::to_string(s.index); }

// "3-5, 9" from sorted layer numbers.
std::string ranges(const std::vector<uint32_t>& v) {
  std::string out;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    if (!out.empty()) out += ", ";
    out += std::to_string(v[i]);  // appended: `"-" + std::to_string()` is a false GCC 12 -Wrestrict at -O3
    if (j > i) out.append("-").append(std::to_string(v[j]));
    i = j + 1;
  }
  return out;
}

// One sentence: what went where and why; plus llama.cpp's override for the CPU experts.
void describe(memory_plan& plan, const std::vector<gpu_slot>& slots) {
  std::vector<uint32_t> gpu_dense, cpu_experts_of_gpu_layers, gpu_experts;
  uint64_t cpu_expert_bytes = 0;
  for (const moe_layer& l : plan.moe_layers) {
    if (l.dense_device != "cpu") gpu_dense.push_back(l.layer);
    if (l.experts_device.empty()) continue;
    if (l.experts_device != "cpu") gpu_experts.push_back(l.layer);
    else cpu_expert_bytes += l.expert_bytes;
    if (l.experts_device == "cpu" && l.dense_device != "cpu") cpu_experts_of_gpu_layers.push_back(l.layer);
  }
  if (slots.empty()) {
    plan.moe_policy = "everything on the CPU (no GPU layers)";
    return;
  }
  uint64_t left = 0;
  for (const auto& g : slots) left += g.usable - std::min(g.usable, g.share.total());
  if (cpu_expert_bytes == 0 && gpu_dense.size() == plan.n_layer) {
    plan.moe_policy = "every layer fits on the GPUs, routed experts included";
    return;
  }
  plan.moe_policy = "attention, shared experts and KV cache of layers " +
                    (gpu_dense.empty() ? std::string("none") : ranges(gpu_dense)) + " on the GPUs";
  if (!gpu_experts.empty()) plan.moe_policy += "; routed experts of layers " + ranges(gpu_experts) + " on the GPUs too";
  uint64_t layer_experts = 0;
  for (const moe_layer& l : plan.moe_layers) layer_experts = std::max(layer_experts, l.expert_bytes);
  if (cpu_expert_bytes > 0)
    plan.moe_policy += "; routed experts (" + mib(cpu_expert_bytes) + ") of the other layers stay on the CPU: " +
                       mib(left) + " is left on the GPUs and one layer's experts need " + mib(layer_experts);
  if (!cpu_experts_of_gpu_layers.empty()) {
    std::string alt;
    for (uint32_t il : cpu_experts_of_gpu_layers) {
      if (!alt.empty()) alt += '|';
      alt += std::to_string(il);
    }
    plan.tensor_overrides.push_back("blk\\.(" + alt + ")\\.ffn_.*_exps\\.=CPU");
  }
}

}  // namespace

bool is_routed_expert(std::string_view name) {
  return name.find("_exps.") != std::string_view::npos && name.find("ffn_") != std::string_view::npos;
}

bool has_routed_experts(std::span<const tensor_size> tensors) {
  return std::any_of(tensors.begin(), tensors.end(), [](const tensor_size& t) { return is_routed_expert(t.name); });
}

result<memory_plan> make_moe_plan(const gguf::model_params& p, std::span<const tensor_size> tensors,
                                  const plan_request& r, std::span<const device_budget> gpus, uint32_t want,
                                  std::string note) {
  memory_plan plan;
  plan.n_layer = p.n_layer;
  plan.note = std::move(note);
  const layer_sizes sz = split_sizes(p, tensors, &plan);
  for (uint32_t il = 0; il < p.n_layer; ++il) plan.kv_bytes += kv_layer_bytes(p, r, il);

  // 1. The dense part and KV of consecutive layers, GPU after GPU.
  std::vector<gpu_slot> slots;
  std::vector<int> slot_of(p.n_layer, -1);
  uint32_t next = 0;
  for (const auto& g : gpus) {
    if (next == want) break;
    gpu_slot s{{g.backend, g.index, g.name, next}, g.free_memory > g.reserve ? g.free_memory - g.reserve : 0};
    s.share.scratch_bytes = scratch_bytes(p, r, false);
    while (next < want && s.share.total() + sz.dense[next] + kv_layer_bytes(p, r, next) <= s.usable) {
      s.share.weight_bytes += sz.dense[next];
      s.share.kv_bytes += kv_layer_bytes(p, r, next);
      ++s.share.n_layers;
      slot_of[next++] = static_cast<int>(slots.size());
    }
    if (s.share.n_layers > 0) slots.push_back(s);
  }
  plan.n_gpu_layers = next;
  if (r.n_gpu_layers > 0 && next < want) {
    uint64_t need = 0;
    for (uint32_t il = 0; il < want; ++il) need += sz.dense[il] + kv_layer_bytes(p, r, il);
    return resource_exhausted("plan: " + std::to_string(want) + " GPU layers requested but only " +
                              std::to_string(next) + " fit even with every routed expert on the CPU (need " +
                              mib(need) + " for their attention, shared experts and KV cache)");
  }
  // 2. The output head on the last GPU once every layer's dense part is there.
  if (next == p.n_layer && !slots.empty()) {
    gpu_slot& last = slots.back();
    const uint64_t extra = sz.output + scratch_bytes(p, r, true) - last.share.scratch_bytes;
    if (last.share.total() + extra <= last.usable) {
      last.share.output = true;
      last.share.weight_bytes += sz.output;
      last.share.scratch_bytes = scratch_bytes(p, r, true);
    }
  }
  // 3. Routed experts, layer by layer, on the GPU holding the layer while they fit.
  device_share& c = plan.cpu;
  c = device_share{"cpu", 0, "CPU", next, p.n_layer - next};
  c.weight_bytes = sz.other;
  for (uint32_t il = 0; il < p.n_layer; ++il) {
    moe_layer l{il, "cpu", "", sz.dense[il], sz.experts[il]};
    const int si = slot_of[il];
    if (si >= 0) l.dense_device = device_name(slots[static_cast<size_t>(si)].share);
    else c.weight_bytes += sz.dense[il], c.kv_bytes += kv_layer_bytes(p, r, il);
    if (sz.experts[il] > 0) {
      gpu_slot* g = si >= 0 ? &slots[static_cast<size_t>(si)] : nullptr;
      if (g && g->share.total() + sz.experts[il] <= g->usable) {
        g->share.weight_bytes += sz.experts[il];
        g->share.expert_bytes += sz.experts[il];
        ++g->share.n_expert_layers;
        l.experts_device = l.dense_device;
      } else {
        c.weight_bytes += sz.experts[il];
        c.expert_bytes += sz.experts[il];
        ++c.n_expert_layers;
        l.experts_device = "cpu";
      }
    }
    plan.moe_layers.push_back(std::move(l));
  }
  c.output = slots.empty() || !slots.back().share.output;
  if (c.output) c.weight_bytes += sz.output;
  c.scratch_bytes = scratch_bytes(p, r, c.output);
  for (const auto& s : slots) plan.gpus.push_back(s.share);
  describe(plan, slots);
  if (r.host_free > 0 && c.total() > r.host_free)
    return resource_exhausted("plan: the CPU share needs " + mib(c.total()) + " (weights " + mib(c.weight_bytes) +
                              ", of which routed experts " + mib(c.expert_bytes) + ", KV " + mib(c.kv_bytes) +
                              ") but only " + mib(r.host_free) + " of host memory is available");
  return plan;
}

nlohmann::json moe_json(const memory_plan& plan) {
  nlohmann::json layers = nlohmann::json::array();
  for (const moe_layer& l : plan.moe_layers)
    layers.push_back({{"layer", l.layer}, {"dense", l.dense_device},
                      {"experts", l.experts_device.empty() ? nlohmann::json() : nlohmann::json(l.experts_device)},
                      {"dense_bytes", l.dense_bytes}, {"expert_bytes", l.expert_bytes}});
  return {{"expert_bytes", plan.expert_bytes}, {"policy", plan.moe_policy},
          {"tensor_overrides", plan.tensor_overrides}, {"layers", layers}};
}

void moe_to_text(const memory_plan& plan, std::string* out) {
  *out += "moe: " + plan.moe_policy + "\n";
  // Runs of layers with the same placement: "layers 3-60: attention cuda:0, experts cpu".
  for (size_t i = 0; i < plan.moe_layers.size();) {
    const moe_layer& a = plan.moe_layers[i];
    size_t j = i;
    while (j + 1 < plan.moe_layers.size() && plan.moe_layers[j + 1].dense_device == a.dense_device &&
           plan.moe_layers[j + 1].experts_device == a.experts_device)
      ++j;
    out->append("  layers ").append(std::to_string(a.layer));
    if (j > i) out->append("-").append(std::to_string(plan.moe_layers[j].layer));
    *out += ": attention+shared " + a.dense_device + ", " +
            (a.experts_device.empty() ? std::string("dense FFN (no routed experts)") : "routed experts " + a.experts_device) +
            "\n";
    i = j + 1;
  }
  for (const auto& o : plan.tensor_overrides) *out += "  llama.cpp equivalent: -ot \"" + o + "\"\n";
}

}  // namespace r1::planner::detail
