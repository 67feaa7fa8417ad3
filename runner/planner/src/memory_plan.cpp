#include "r1/planner/memory_plan.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "plan_internal.h"
#include "r1/gguf/file.h"

namespace r1::planner {

namespace detail {

std::string mib(uint64_t bytes) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f MiB", static_cast<double>(bytes) / (1ull << 20));
  return b;
}

uint64_t kv_layer_bytes(const gguf::model_params& p, const plan_request& r, uint32_t il) {
  const uint64_t positions = static_cast<uint64_t>(r.n_ctx) * r.n_parallel;
  return positions * gguf::kv_bytes_per_token_layer(p, il, r.kv_type, r.kv_type);
}

}  // namespace detail

namespace {

using detail::kv_layer_bytes;
using detail::mib;

status check_request(const gguf::model_params& p, const plan_request& r) {
  if (r.n_ctx == 0 || r.n_parallel == 0 || r.n_batch == 0) return invalid_argument("plan: n_ctx, n_parallel and n_batch must be positive");
  if (r.kv_type != tensor_type::f16 && r.kv_type != tensor_type::f32 && r.kv_type != tensor_type::q8_0)
    return invalid_argument("plan: KV cache type must be F16, F32 or Q8_0");
  if (r.n_gpu_layers < -1 || r.n_gpu_layers > static_cast<int>(p.n_layer))
    return invalid_argument("plan: n_gpu_layers " + std::to_string(r.n_gpu_layers) + " outside -1.." +
                            std::to_string(p.n_layer));
  if (p.n_layer == 0 || p.n_head.size() < p.n_layer || p.n_head_kv.size() < p.n_layer)
    return invalid_argument("plan: model parameters have no layers");
  for (uint32_t il = 0; il < p.n_layer; ++il)
    if (p.n_embd_k_gqa(il) % type_info(r.kv_type).block_elems || p.n_embd_v_gqa(il) % type_info(r.kv_type).block_elems)
      return invalid_argument("plan: KV width is not a whole number of " + std::string(type_info(r.kv_type).name) +
                              " blocks");
  return ok_status();
}

}  // namespace

int layer_of(std::string_view name) {
  if (!name.starts_with("blk.")) return -1;
  name.remove_prefix(4);
  int v = -1;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), v);
  if (ec != std::errc() || end == name.data() || end == name.data() + name.size() || *end != '.') return -1;
  return v;
}

std::string gpu_unsupported_reason(std::string_view arch, tensor_type kv_type) {
  if (arch != "qwen2" && arch != "llama" && arch != "qwen3")
    return "architecture " + std::string(arch) + " runs on the CPU only (no GPU kernels for it yet)";
  if (kv_type != tensor_type::f16 && kv_type != tensor_type::f32)
    return "a " + std::string(type_info(kv_type).name) + " KV cache stays on the CPU (GPU caches are F16 or F32)";
  return {};
}

std::vector<tensor_size> tensor_sizes(std::span<const gguf::file* const> shards) {
  std::vector<tensor_size> out;
  for (const gguf::file* f : shards)
    for (const auto& t : f->tensors()) out.push_back({std::string(t.name), t.size});
  return out;
}

std::vector<tensor_size> tensor_sizes(const gguf::model_files& m) {
  std::vector<tensor_size> out;
  for (const auto& shard : m.shards())
    for (const auto& t : shard->tensors()) out.push_back({std::string(t.name), t.size});
  return out;
}

uint64_t scratch_bytes(const gguf::model_params& p, const plan_request& r, bool output) {
  const uint64_t tokens = std::min<uint64_t>(r.n_batch, static_cast<uint64_t>(r.n_ctx) * r.n_parallel);
  uint64_t n_ff = 0, n_head = 0, n_head_kv = 0;
  for (uint32_t il = 0; il < p.n_layer; ++il) {
    n_ff = std::max<uint64_t>(n_ff, il < p.n_ff.size() ? p.n_ff[il] : 0);
    n_head = std::max<uint64_t>(n_head, p.n_head[il]);
    n_head_kv = std::max<uint64_t>(n_head_kv, p.n_head_kv[il]);
  }
  n_ff = std::max<uint64_t>(n_ff, static_cast<uint64_t>(p.n_ff_exp) * std::max(1u, p.n_expert_used));
  // Per token: residual + norm, q, k, v, attention output, gate + up (f32).
  const uint64_t per_token = 2ull * p.n_embd + n_head * p.n_embd_head_k + n_head_kv * (p.n_embd_head_k + p.n_embd_head_v) +
                             n_head * p.n_embd_head_v + 2 * n_ff;
  uint64_t bytes = tokens * per_token * 4;
  bytes += bytes / 4;  // quantized copies of activations and alignment
  if (output) bytes += static_cast<uint64_t>(p.n_vocab) * r.n_parallel * 4;
  return bytes;
}

result<memory_plan> make_plan(const gguf::model_params& p, std::span<const tensor_size> tensors,
                              const plan_request& r, std::span<const device_budget> gpus) {
  R1_RETURN_IF_ERROR(check_request(p, r));
  memory_plan plan;
  plan.n_layer = p.n_layer;
  std::vector<uint64_t> layer_w(p.n_layer, 0);
  uint64_t output_w = 0, other_w = 0;
  for (const auto& t : tensors) {
    plan.weight_bytes += t.bytes;
    const int il = layer_of(t.name);
    if (il >= 0 && static_cast<uint32_t>(il) < p.n_layer) layer_w[il] += t.bytes;
    else if (t.name == "output.weight" || t.name == "output_norm.weight") output_w += t.bytes;
    else other_w += t.bytes;
  }
  for (uint32_t il = 0; il < p.n_layer; ++il) plan.kv_bytes += kv_layer_bytes(p, r, il);

  const std::string why_not =
      gpus.empty() || r.assume_gpu_kernels ? std::string() : gpu_unsupported_reason(p.arch, r.kv_type);
  if (!why_not.empty() && r.n_gpu_layers > 0) return invalid_argument("plan: " + why_not + "; use 0 GPU layers");
  plan.note = why_not;
  const uint32_t want = !why_not.empty() ? 0 : r.n_gpu_layers < 0 ? p.n_layer : static_cast<uint32_t>(r.n_gpu_layers);
  if (detail::has_routed_experts(tensors)) return detail::make_moe_plan(p, tensors, r, gpus, want, plan.note);
  uint32_t next = 0;
  for (const auto& g : gpus) {
    if (next == want) break;
    const uint64_t usable = g.free_memory > g.reserve ? g.free_memory - g.reserve : 0;
    device_share s{g.backend, g.index, g.name, next};
    s.scratch_bytes = scratch_bytes(p, r, false);
    while (next < want) {
      const uint64_t add = layer_w[next] + kv_layer_bytes(p, r, next);
      if (s.total() + add > usable) break;
      s.weight_bytes += layer_w[next];
      s.kv_bytes += kv_layer_bytes(p, r, next);
      ++s.n_layers;
      ++next;
    }
    if (s.n_layers == 0) continue;
    // The head follows the last layer when everything else is on GPUs.
    if (next == p.n_layer) {
      const uint64_t extra = output_w + scratch_bytes(p, r, true) - s.scratch_bytes;
      if (s.total() + extra <= usable) {
        s.output = true;
        s.weight_bytes += output_w;
        s.scratch_bytes = scratch_bytes(p, r, true);
      }
    }
    plan.gpus.push_back(s);
  }
  plan.n_gpu_layers = next;
  if (r.n_gpu_layers > 0 && next < want) {
    uint64_t need = 0;
    for (uint32_t il = 0; il < want; ++il) need += layer_w[il] + kv_layer_bytes(p, r, il);
    uint64_t free_total = 0;
    for (const auto& g : gpus) free_total += g.free_memory > g.reserve ? g.free_memory - g.reserve : 0;
    return resource_exhausted("plan: " + std::to_string(want) + " GPU layers requested but only " + std::to_string(next) +
                              " fit (need " + mib(need) + " for their weights and KV cache, " + mib(free_total) +
                              " usable on " + std::to_string(gpus.size()) + " GPU(s))");
  }

  device_share& c = plan.cpu;
  c.backend = "cpu";
  c.name = "CPU";
  c.first_layer = next;
  c.n_layers = p.n_layer - next;
  c.weight_bytes = other_w;
  for (uint32_t il = next; il < p.n_layer; ++il) {
    c.weight_bytes += layer_w[il];
    c.kv_bytes += kv_layer_bytes(p, r, il);
  }
  c.output = plan.gpus.empty() || !plan.gpus.back().output;
  if (c.output) c.weight_bytes += output_w;
  c.scratch_bytes = scratch_bytes(p, r, c.output);
  if (r.host_free > 0 && c.total() > r.host_free)
    return resource_exhausted("plan: the CPU share needs " + mib(c.total()) + " (weights " + mib(c.weight_bytes) +
                              ", KV " + mib(c.kv_bytes) + ", scratch " + mib(c.scratch_bytes) + ") but only " +
                              mib(r.host_free) + " of host memory is available; " + std::to_string(next) + " of " +
                              std::to_string(p.n_layer) + " layers fit on GPUs");
  return plan;
}

std::string memory_plan::to_json() const {
  nlohmann::json devs = nlohmann::json::array();
  auto add = [&](const device_share& s) {
    devs.push_back({{"backend", s.backend}, {"index", s.index}, {"name", s.name}, {"first_layer", s.first_layer},
                    {"n_layers", s.n_layers}, {"output", s.output}, {"weight_bytes", s.weight_bytes},
                    {"kv_bytes", s.kv_bytes}, {"scratch_bytes", s.scratch_bytes}, {"total_bytes", s.total()}});
    if (!moe_layers.empty()) {
      devs.back()["expert_bytes"] = s.expert_bytes;
      devs.back()["n_expert_layers"] = s.n_expert_layers;
    }
  };
  for (const auto& g : gpus) add(g);
  add(cpu);
  nlohmann::json j{{"n_layer", n_layer}, {"n_gpu_layers", n_gpu_layers}, {"weight_bytes", weight_bytes},
                   {"kv_bytes", kv_bytes}, {"devices", devs}};
  if (!note.empty()) j["note"] = note;
  if (!moe_layers.empty()) j["moe"] = detail::moe_json(*this);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string memory_plan::to_text() const {
  std::string out = "layers on GPU: " + std::to_string(n_gpu_layers) + "/" + std::to_string(n_layer) +
                    (fully_offloaded() ? " (full offload)" : "") + "\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-8s %-28s %-9s %6s %12s %12s %12s %12s\n", "backend", "device", "layers", "output",
                "weights", "kv", "scratch", "total");
  out += line;
  auto row = [&](const device_share& s) {
    const std::string layers = s.n_layers ? std::to_string(s.first_layer) + "-" + std::to_string(s.first_layer + s.n_layers - 1) : "-";
    std::snprintf(line, sizeof line, "%-8s %-28.28s %-9s %6s %12s %12s %12s %12s\n", s.backend.c_str(), s.name.c_str(),
                  layers.c_str(), s.output ? "yes" : "no", mib(s.weight_bytes).c_str(), mib(s.kv_bytes).c_str(),
                  mib(s.scratch_bytes).c_str(), mib(s.total()).c_str());
    out += line;
  };
  for (const auto& g : gpus) row(g);
  row(cpu);
  if (!note.empty()) out += "note: " + note + "\n";
  if (!moe_layers.empty()) detail::moe_to_text(*this, &out);
  return out;
}

}  // namespace r1::planner
