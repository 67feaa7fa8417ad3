// One entry per supported architecture: its RoPE mode, the keys only it reads,
// and its tensor table. Each lives in its own arch_<name>.cpp and is listed in
// arch_table.cpp; adding an architecture touches one new file and one line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "r1/gguf/file.h"
#include "r1/gguf/model_params.h"

namespace r1::gguf {

struct arch_def {
  std::string_view name;
  rope_mode rope;
  // Arch-specific keys, called after the common keys are resolved.
  status (*resolve)(const file& meta, model_params& p);
  // Appends the expected tensors.
  void (*tensors)(const model_params& p, std::vector<tensor_spec>& out);
};

const arch_def& arch_qwen2();
const arch_def& arch_llama();
const arch_def& arch_qwen3();
const arch_def& arch_deepseek2();

const arch_def* find_arch(std::string_view name);
std::vector<std::string_view> arch_names();

// Helpers shared by the arch files.
std::string arch_key(const model_params& p, std::string_view suffix);  // "<arch>.<suffix>"
void add_tensor_spec(std::vector<tensor_spec>& out, std::string name, std::vector<uint64_t> ne, bool required = true);
std::string blk(uint32_t il, std::string_view name);  // "blk.<il>.<name>"
// token_embd, output_norm and output (optional when the arch allows tying).
void add_io_tensors(const model_params& p, std::vector<tensor_spec>& out, bool output_optional);
// Dense SwiGLU FFN of layer il: ffn_gate, ffn_down, ffn_up with width n_ff.
void add_dense_ffn(std::vector<tensor_spec>& out, uint32_t il, uint64_t n_embd, uint64_t n_ff);

// Typed key reads with range checks: the value must fit in u32 (or be the fallback when absent).
result<uint32_t> read_u32(const file& meta, const std::string& key);
result<uint32_t> read_u32_or(const file& meta, const std::string& key, uint32_t fallback);
result<float> read_f32_or(const file& meta, const std::string& key, float fallback);

}  // namespace r1::gguf
