// What r1-mkmodel writes: an architecture, its shape, the weight type, the
// tokenizer and the seed. Presets give the real shapes of the models r1 serves
// ("1.5b", "7b", "8b", ...) or a tiny one for fast tests; every field can then
// be overridden.
//
//   R1_ASSIGN_OR_RETURN(mkmodel::model_spec s, mkmodel::preset("qwen2", "tiny"));
//   s.seed = 7;
//   R1_RETURN_IF_ERROR(mkmodel::write_model(s, dir + "/tiny.gguf"));
//
// Plain value type; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "r1/base/status.h"

namespace r1::mkmodel {

struct model_spec {
  std::string arch = "qwen2";  // qwen2, llama, qwen3, deepseek2
  std::string name = "r1-test-model";
  uint32_t n_layer = 2;
  uint32_t n_embd = 64;
  uint32_t n_head = 4;
  uint32_t n_head_kv = 2;
  uint32_t n_ff = 128;
  uint32_t n_ctx = 4096;
  uint32_t head_dim = 0;  // 0: n_embd / n_head (qwen3 and llama write key_length/value_length)
  uint32_t n_vocab = 0;   // 0: the tokenizer's size; larger pads with [PAD] tokens
  float rope_base = 10000.0f;
  float rms_eps = 1e-6f;
  bool tied_output = false;   // no output.weight (not for deepseek2)
  bool qkv_bias = true;       // qwen2 q/k/v biases
  bool rope_freqs = false;    // llama: Llama-3.1 rope_freqs tensor

  // deepseek2
  uint32_t q_lora_rank = 32;
  uint32_t kv_lora_rank = 32;
  uint32_t rope_dim = 16;     // qk_rope_head_dim (also rope.dimension_count)
  uint32_t nope_dim = 32;     // qk_nope_head_dim
  uint32_t v_head_dim = 32;
  uint32_t n_expert = 4;
  uint32_t n_expert_used = 2;
  uint32_t n_expert_shared = 1;
  uint32_t n_ff_exp = 32;
  uint32_t n_dense_lead = 1;
  uint32_t gating_func = 2;   // 1 softmax, 2 sigmoid
  float expert_weights_scale = 2.5f;
  bool expert_weights_norm = true;
  uint32_t n_expert_groups = 0;  // 0: keys not written
  uint32_t n_group_used = 0;
  bool mla_split = true;      // attn_k_b + attn_v_b (newer files) instead of attn_kv_b
  float yarn_factor = 0;      // > 0 writes rope.scaling.type yarn with this factor
  uint32_t yarn_orig_ctx = 4096;

  // Weights
  std::string type = "F16";   // F32, F16, BF16, or (with the CPU kernels) Q8_0, Q4_0, Q4_K, Q5_K, Q6_K, Q4_K_M, Q5_K_M
  uint64_t seed = 1;
  // Multiplies the random weights of the projections that write into the residual stream
  // (attn_output, ffn_down and their expert forms). Below 1 the stream stays dominated by earlier
  // layers, so rounding differences grow less from layer to layer and the logits of a deep random
  // model are less chaotic; every layer still shapes them.
  float residual_scale = 1.0f;

  // Tokenizer: empty = the synthetic byte-level vocabulary.
  std::string tokenizer;             // tokenizer.json or its directory
  std::optional<bool> r1_distill;    // default: on for qwen2 and llama when a tokenizer is given
  std::string pre;                   // override tokenizer.ggml.pre
  uint32_t vocab_limit = 0;          // keep the first N tokens (+ bytes + specials)
  std::string chat_template_file;    // override the chat template

  uint32_t n_split = 1;  // > 1 writes <out>-0000i-of-0000N.gguf
};

// Architectures and preset names (for --help).
std::vector<std::string_view> mkmodel_archs();
std::vector<std::string_view> preset_names();
// tiny (any arch), 1.5b/7b/14b/32b (qwen2), 8b (llama; qwen3 with arch qwen3),
// 70b (llama), 671b (deepseek2), moe-small (deepseek2, 8 experts, 4 layers).
// An empty arch takes the preset's own. invalid_argument for unknown names or
// a preset that does not exist for the arch.
result<model_spec> preset(std::string_view arch, std::string_view name);

}  // namespace r1::mkmodel
