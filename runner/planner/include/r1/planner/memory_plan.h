// planner::memory_plan: where a model's layers go before it is loaded.
//
// From the GGUF (tensor sizes, hyperparameters) and the request (context,
// parallel slots, KV cache type, batch) it computes per device the bytes of
// weights, KV cache and scratch, and assigns consecutive repeating layers to
// the GPUs in order until they are full; the rest stays on the CPU. The token
// embedding always stays on the CPU (a row lookup); the output head and final
// norm go to the last GPU when every layer is offloaded and they fit.
//
// Pure arithmetic over metadata: no GPU library, so the daemon can call it.
// Only the dense architectures (qwen2, llama, qwen3) with an F16/F32 KV cache
// have GPU kernels: for others (deepseek2) or a Q8_0 cache, n_gpu_layers = -1
// plans everything on the CPU and says why in `note`; n > 0 is refused.
// Errors: invalid_argument for a bad request or GPU layers for a model that
// cannot have them; resource_exhausted, with the sizes in the message, when the
// model cannot be placed: the request demands more GPU layers than fit (never a
// silent CPU fallback), or the CPU share does not fit the host memory given.
// Thread safety: pure functions; plain values.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "r1/base/status.h"
#include "r1/base/tensor_type.h"
#include "r1/gguf/model_files.h"
#include "r1/gguf/model_params.h"

namespace r1::planner {

struct plan_request {
  uint32_t n_ctx = 4096;      // positions per slot
  uint32_t n_parallel = 1;    // slots; the KV cache holds n_ctx * n_parallel positions
  tensor_type kv_type = tensor_type::f16;
  uint32_t n_batch = 512;     // tokens per forward pass (prompt chunks): sizes the scratch
  int n_gpu_layers = -1;      // -1: as many as fit; 0: CPU only; n: exactly n (refused if they do not fit)
  uint64_t host_free = 0;     // bytes of host memory available (0: not checked)
  // Plan GPU placement even for an architecture or cache type this build has no
  // GPU kernels for (what-if plans: `r1 show --plan`, sizing a machine, tests).
  bool assume_gpu_kernels = false;
};

// A GPU as `r1-runner --list-devices` reports it.
struct device_budget {
  std::string backend;        // "vulkan", "cuda"
  int index = 0;
  std::string name;
  uint64_t free_memory = 0;   // bytes
  uint64_t reserve = 256ull << 20;  // kept free for the driver and other users
};

// One tensor's size (bytes) by GGUF name.
struct tensor_size {
  std::string name;
  uint64_t bytes = 0;
};

struct device_share {
  std::string backend;  // "cpu" for the host share
  int index = 0;
  std::string name;
  uint32_t first_layer = 0, n_layers = 0;
  bool output = false;  // holds output.weight + output_norm
  uint64_t weight_bytes = 0, kv_bytes = 0, scratch_bytes = 0;
  // MoE: routed-expert bytes included in weight_bytes, and of how many layers.
  uint64_t expert_bytes = 0;
  uint32_t n_expert_layers = 0;
  uint64_t total() const { return weight_bytes + kv_bytes + scratch_bytes; }
};

// MoE models (tensors named blk.N.ffn_{gate,up,down}_exps): where one layer's
// two parts go. "dense" is everything else of the layer (attention, norms,
// router, shared experts, the dense FFN of leading dense layers) plus its KV
// cache; "experts" the routed experts. Devices are "cuda:0", "vulkan:1", "cpu";
// experts_device is empty for a layer without routed experts.
struct moe_layer {
  uint32_t layer = 0;
  std::string dense_device, experts_device;
  uint64_t dense_bytes = 0, expert_bytes = 0;  // weights (dense_bytes without KV)
};

struct memory_plan {
  uint32_t n_layer = 0;
  uint32_t n_gpu_layers = 0;
  uint64_t weight_bytes = 0;   // whole model
  uint64_t kv_bytes = 0;       // whole KV cache
  std::vector<device_share> gpus;  // one per GPU that got layers (in device order)
  device_share cpu;                // what stays on the host
  std::string note;                // why layers stay on the CPU when GPUs were offered (may be empty)
  // MoE plans (llama.cpp's "-ot exps=CPU" policy): the attention, shared experts and
  // KV of every layer go to the GPUs first (n_gpu_layers counts these), then the
  // output head, then routed experts layer by layer while they fit; the rest
  // stays on the CPU. Empty moe_layers for dense models.
  std::vector<moe_layer> moe_layers;
  uint64_t expert_bytes = 0;                 // routed experts, whole model
  std::string moe_policy;                    // what was placed where and why, one sentence
  std::vector<std::string> tensor_overrides; // llama.cpp -ot form: "blk\.(3|4)\.ffn_.*_exps\.=CPU"
  bool fully_offloaded() const { return n_gpu_layers == n_layer && (gpus.empty() ? false : gpus.back().output); }
  // {"n_layer","n_gpu_layers","weight_bytes","kv_bytes","note"?,"devices":[{backend,index,name,first_layer,
  //   n_layers,output,weight_bytes,kv_bytes,scratch_bytes,total_bytes,expert_bytes?,n_expert_layers?}...]}
  // (CPU last); MoE plans add "moe":{"expert_bytes","policy","tensor_overrides":[..],
  //   "layers":[{"layer","dense","experts","dense_bytes","expert_bytes"}...]}.
  std::string to_json() const;
  // Human-readable table for `r1 show --plan`.
  std::string to_text() const;
};

// Sizes of every tensor of the model (all shards).
std::vector<tensor_size> tensor_sizes(const gguf::model_files& m);
std::vector<tensor_size> tensor_sizes(std::span<const gguf::file* const> shards);

// Empty when layers of this model can run on a GPU with this KV cache type, else the reason.
std::string gpu_unsupported_reason(std::string_view architecture, tensor_type kv_type);

// Layer index of a "blk.N.*" tensor name; -1 for non-layer tensors.
int layer_of(std::string_view tensor_name);

result<memory_plan> make_plan(const gguf::model_params& p, std::span<const tensor_size> tensors,
                              const plan_request& r, std::span<const device_budget> gpus);

// Scratch bytes one device needs for the request (activations of n_batch tokens;
// logits when `output`). Exposed for tests and docs.
uint64_t scratch_bytes(const gguf::model_params& p, const plan_request& r, bool output);

}  // namespace r1::planner
