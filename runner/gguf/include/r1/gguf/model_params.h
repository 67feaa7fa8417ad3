// gguf::model_params: the hyperparameters of a model, resolved from GGUF
// metadata the way llama.cpp resolves them (defaults, per-layer arrays, head
// dims, RoPE and YaRN settings, DeepSeek-2 MLA/MoE keys), and the tensor table
// each architecture expects.
//
//   R1_ASSIGN_OR_RETURN(gguf::model_files m, gguf::model_files::open(path));
//   R1_ASSIGN_OR_RETURN(gguf::model_params p, gguf::resolve_params(m.metadata()));
//   R1_RETURN_IF_ERROR(gguf::check_tensors(p, m));   // refuses missing / mis-shaped tensors
//
// Supported architectures: qwen2, llama, qwen3, deepseek2 (one file each in
// src/arch_*.cpp, registered in one table). Errors: invalid_argument for an
// unsupported architecture, not_found for a required key that is missing,
// corrupt for values that are out of range or inconsistent (messages name the
// key). Plain values, no ownership, freely copyable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "r1/base/status.h"
#include "r1/base/tensor_type.h"
#include "r1/gguf/file.h"

namespace r1::gguf {

class model_files;

enum class rope_mode { norm, neox };  // adjacent pairs (llama, deepseek2) / split halves (qwen2, qwen3)
enum class rope_scaling { none, linear, yarn, longrope };
enum class gating_func { softmax = 1, sigmoid = 2, softmax_weight = 3 };

struct model_params {
  std::string arch;  // general.architecture
  uint32_t n_ctx_train = 0;
  uint32_t n_embd = 0;
  uint32_t n_layer = 0;
  uint32_t n_vocab = 0;  // tokens array length, else %s.vocab_size, else 0 (unknown)
  std::vector<uint32_t> n_head;     // per layer
  std::vector<uint32_t> n_head_kv;  // per layer (defaults to n_head)
  std::vector<uint32_t> n_ff;       // per layer (dense FFN width)
  uint32_t n_embd_head_k = 0;       // attention.key_length, default n_embd / n_head
  uint32_t n_embd_head_v = 0;       // attention.value_length, default n_embd / n_head
  uint32_t n_rot = 0;               // rope.dimension_count, default n_embd_head_k
  float rms_eps = 0;
  float attention_scale = 0;        // llama: attention.scale (0 = 1/sqrt(head dim))

  // RoPE
  rope_mode rope = rope_mode::norm;
  float rope_freq_base = 10000.0f;
  rope_scaling rope_scaling_type = rope_scaling::linear;  // llama.cpp's default when the key is absent
  float rope_freq_scale = 1.0f;       // 1 / rope.scaling.factor (1 when absent or 0, or type none)
  uint32_t n_ctx_orig_yarn = 0;       // rope.scaling.original_context_length, default n_ctx_train
  bool rope_finetuned = false;
  float rope_attn_factor = 1.0f;      // rope.scaling.attn_factor
  float yarn_ext_factor = -1.0f;      // -1 = auto (1 for yarn, else 0)
  float yarn_attn_factor = 1.0f;
  float yarn_beta_fast = 32.0f;
  float yarn_beta_slow = 1.0f;
  float yarn_log_multiplier = 0.0f;   // deepseek2: key value / 0.1 (0.1 in R1 files -> 1.0)
  bool has_rope_freqs = false;        // set by check_tensors when rope_freqs.weight exists

  // Mixture of experts (deepseek2; llama files may carry experts too)
  uint32_t n_expert = 0;
  uint32_t n_expert_used = 0;
  uint32_t n_expert_shared = 0;
  uint32_t n_ff_exp = 0;
  uint32_t n_layer_dense_lead = 0;
  float expert_weights_scale = 0;
  bool expert_weights_norm = false;
  gating_func expert_gating = gating_func::softmax;
  uint32_t n_expert_groups = 0;
  uint32_t n_group_used = 0;

  // DeepSeek-2 attention
  uint32_t n_lora_q = 0;           // 0 for "lite" models (n_layer 26 or 27)
  uint32_t n_lora_kv = 0;
  uint32_t n_embd_head_k_mla = 0;  // key_length_mla (MLA-split files only)
  uint32_t n_embd_head_v_mla = 0;  // value_length_mla
  bool is_mla() const { return n_embd_head_k_mla != 0 && n_embd_head_v_mla != 0; }

  // Tied output: no output.weight, token_embd is reused (set by check_tensors).
  bool tied_output = false;

  uint32_t n_head_max() const;
  // Width of K / V for layer il (n_head_kv * head dim), as the KV cache stores them.
  uint32_t n_embd_k_gqa(uint32_t il) const { return n_head_kv[il] * n_embd_head_k; }
  uint32_t n_embd_v_gqa(uint32_t il) const { return n_head_kv[il] * n_embd_head_v; }
  // Effective YaRN ext_factor: the key when >= 0, else 1 for yarn and 0 otherwise.
  float effective_ext_factor() const;
};

std::string_view rope_scaling_name(rope_scaling t);
// Architectures with a parameter resolver and a tensor table.
std::vector<std::string_view> supported_architectures();

result<model_params> resolve_params(const file& meta);

// ---- tensor tables ----

// One tensor an architecture expects. ne uses 0 as "any" only for n_vocab when unknown.
struct tensor_spec {
  std::string name;  // "blk.3.attn_q.weight"
  std::vector<uint64_t> ne;
  bool required = true;
};

// The tensors the architecture expects, in llama.cpp's order, for these params.
// tied_output is ignored: output.weight is listed as optional where the arch allows tying.
result<std::vector<tensor_spec>> expected_tensors(const model_params& p);

// Refuses a missing required tensor, a tensor with the wrong shape, or a
// tensor the architecture does not use (corrupt, message names the tensor and
// both shapes). Also sets p.tied_output and p.has_rope_freqs.
status check_tensors(model_params& p, const model_files& m);
status check_tensors(model_params& p, const file& f);

// ---- estimates the daemon needs without loading ----

// "Q4_K_M" for general.file_type 15; "F16", "BF16", ...; "unknown" for others.
std::string_view file_type_name(uint32_t file_type);
// general.file_type value for a name ("Q4_K_M" -> 15); nullopt if unknown.
std::optional<uint32_t> file_type_from_name(std::string_view name);
// general.file_type when present, else guessed from the most common weight type
// (llama.cpp's guess); the name as above.
std::string file_type_of(const model_files& m);
uint64_t weight_bytes(const model_files& m);     // sum of all tensor sizes
uint64_t parameter_count(const model_files& m);  // sum of all tensor element counts
// Bytes of K and V cache per token over all layers, for the given cache types
// (F16 by default in llama.cpp). Quantized types count whole blocks per row.
// MLA-split deepseek2 files (attn_k_b/attn_v_b, is_mla()) cache one latent row
// of kv_lora_rank + rope dims per token and layer (V is read from inside it, so
// v_type is unused): R1 at F16 is 576 x 2 x 61 = 70,272 bytes. Older files with
// attn_kv_b cache full per-head K and V (R1: 4,997,120 bytes).
uint64_t kv_bytes_per_token(const model_params& p, tensor_type k_type = tensor_type::f16,
                            tensor_type v_type = tensor_type::f16);
// The same for one layer.
uint64_t kv_bytes_per_token_layer(const model_params& p, uint32_t il, tensor_type k_type = tensor_type::f16,
                                  tensor_type v_type = tensor_type::f16);

}  // namespace r1::gguf
