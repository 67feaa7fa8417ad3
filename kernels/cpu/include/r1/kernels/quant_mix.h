// Per-tensor type choice when quantizing a model, following llama.cpp's
// llama_tensor_get_type for the mixes r1 writes (Q4_K_M, Q5_K_M, ...).
// Pure functions, thread safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "r1/base/status.h"
#include "r1/base/tensor_type.h"

namespace r1::kernels {

// general.file_type values (llama_ftype) that choose_mix_type understands.
enum class file_type : uint32_t {
  all_f32 = 0, mostly_f16 = 1, mostly_q4_0 = 2, mostly_q4_1 = 3, mostly_q8_0 = 7,
  mostly_q5_0 = 8, mostly_q5_1 = 9, mostly_q4_k_s = 14, mostly_q4_k_m = 15,
  mostly_q5_k_s = 16, mostly_q5_k_m = 17, mostly_q6_k = 18, mostly_bf16 = 32,
};

// "Q4_K_M" -> mostly_q4_k_m (case-insensitive; also "F16", "BF16", "F32", "Q8_0"...).
result<file_type> parse_file_type(std::string_view name);
std::string_view file_type_name(file_type f);
// The default type of a mix (Q4_K for Q4_K_M).
tensor_type file_type_default(file_type f);

struct mix_tensor {
  std::string_view name;      // GGUF name, e.g. "blk.3.attn_v.weight"
  int n_dims = 2;             // number of dimensions
  int64_t ne0 = 0;            // row length
  tensor_type current = tensor_type::f32;  // type it has now; kept when not quantized
};

struct mix_model {
  std::string_view arch;      // general.architecture ("qwen2", "deepseek2", ...)
  int n_layer = 0;
  int n_expert = 0;           // 0 for dense models
  bool is_70b = false;        // llama.cpp's LLM_TYPE_70B: attn_v gets at least Q5_K
  bool has_output = true;     // false when token_embd doubles as the output head
};

// The type to store tensor t with in a file of type ftype. layer is the block
// index (-1: parse it from "blk.N." in the name; tensors outside blocks use 0).
// Tensors that are not quantized (1-D, norms, biases, routers) keep t.current.
// invalid_argument for an ftype this function does not implement.
result<tensor_type> choose_mix_type(file_type ftype, const mix_tensor& t, int layer, const mix_model& m);

}  // namespace r1::kernels
