// Helpers shared by the dense plan (memory_plan.cpp) and the MoE plan (moe_plan.cpp).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "r1/planner/memory_plan.h"

namespace r1::planner::detail {

// "12.5 MiB"
std::string mib(uint64_t bytes);
// KV cache bytes of layer il for the request's positions (MLA-aware, see gguf::kv_bytes_per_token).
uint64_t kv_layer_bytes(const gguf::model_params& p, const plan_request& r, uint32_t il);
// A routed-expert tensor: "blk.N.ffn_gate_exps.weight", "..._up_exps", "..._down_exps" (not the
// shared experts, "_shexp", nor the router "ffn_gate_inp").
bool is_routed_expert(std::string_view tensor_name);
bool has_routed_experts(std::span<const tensor_size> tensors);

// The MoE placement (see memory_plan::moe_layers). `want` is the number of layers whose
// dense part should go to the GPUs (0: CPU only); `note` is carried into the plan.
result<memory_plan> make_moe_plan(const gguf::model_params& p, std::span<const tensor_size> tensors,
                                  const plan_request& r, std::span<const device_budget> gpus, uint32_t want,
                                  std::string note);

// The "moe" part of to_json / to_text.
nlohmann::json moe_json(const memory_plan& plan);
void moe_to_text(const memory_plan& plan, std::string* out);

}  // namespace r1::planner::detail
