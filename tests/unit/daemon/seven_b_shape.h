// The real Qwen2-7B shape (Q4_K weights, F32 vectors; tensor sizes from the tensor table,
// metadata only) and its memory plan, for the placement and scheduler tests. Expected numbers
// are computed from the per-tensor sizes here, not read back from the planner.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "r1/daemon/gpu_placement.h"
#include "r1/gguf/file.h"
#include "r1/gguf/model_params.h"
#include "r1/mkmodel/make_model.h"
#include "r1/mkmodel/model_spec.h"

namespace r1::daemon_test {

namespace planner = r1::planner;

inline constexpr uint64_t MiB = 1ull << 20;

struct shape {
  r1::gguf::model_params p;
  std::vector<planner::tensor_size> sizes;
  uint64_t layer = 0;     // one layer's weights (all layers are equal)
  uint64_t output = 0;    // output.weight + output_norm.weight
  uint64_t embd = 0;      // token_embd.weight
  uint64_t kv_layer = 0;  // one layer's KV cache at the request below
  planner::plan_request r;
};

inline const shape& seven_b() {
  static const shape built = [] {
    shape out;
    auto spec = r1::mkmodel::preset("qwen2", "7b").value();
    auto w = r1::mkmodel::build_metadata(spec).value();
    const auto bytes = w.to_bytes().value();
    auto f = r1::gguf::file::open_memory({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}).value();
    out.p = r1::gguf::resolve_params(f).value();
    auto specs = r1::gguf::expected_tensors(out.p);
    const std::vector<r1::gguf::tensor_spec> table = specs.ok() ? std::move(specs).value() : std::vector<r1::gguf::tensor_spec>{};
    for (const auto& t : table) {
      uint64_t n = 1;
      for (uint64_t dim : t.ne) n *= dim == 0 ? out.p.n_vocab : dim;
      const r1::tensor_type type = t.ne.size() == 1 ? r1::tensor_type::f32 : r1::tensor_type::q4_k;
      const uint64_t b = n / r1::type_info(type).block_elems * r1::type_info(type).block_bytes;
      out.sizes.push_back({t.name, b});
      if (planner::layer_of(t.name) == 0) out.layer += b;
      if (t.name == "output.weight" || t.name == "output_norm.weight") out.output += b;
      if (t.name == "token_embd.weight") out.embd = b;
    }
    out.r.n_ctx = 2048;
    // K and V rows of one layer in f16 per position (4 KV heads x 128 dims each).
    out.kv_layer = 2ull * out.p.n_head_kv[0] * out.p.n_embd_head_k * 2 * out.r.n_ctx;
    return out;
  }();
  return built;
}

inline r1::daemon::plan_fn plan_for(int n_gpu_layers) {
  planner::plan_request r = seven_b().r;
  r.n_gpu_layers = n_gpu_layers;
  return [r](std::span<const planner::device_budget> gpus) {
    return planner::make_plan(seven_b().p, seven_b().sizes, r, gpus);
  };
}

// What the whole model takes on one GPU with every layer and the head there.
inline uint64_t full_gpu_bytes() {
  const shape& s = seven_b();
  return s.p.n_layer * (s.layer + s.kv_layer) + s.output + planner::scratch_bytes(s.p, s.r, true);
}

}  // namespace r1::daemon_test
