#include <array>

#include "arch.h"

namespace r1::gguf {
namespace {
using arch_getter = const arch_def& (*)();
constexpr std::array<arch_getter, 4> k_archs{&arch_qwen2, &arch_llama, &arch_qwen3, &arch_deepseek2};
}  // namespace

const arch_def* find_arch(std::string_view name) {
  for (arch_getter g : k_archs)
    if (g().name == name) return &g();
  return nullptr;
}

std::vector<std::string_view> arch_names() {
  std::vector<std::string_view> out;
  for (arch_getter g : k_archs) out.push_back(g().name);
  return out;
}

std::vector<std::string_view> supported_architectures() { return arch_names(); }

std::string arch_key(const model_params& p, std::string_view suffix) { return p.arch + "." + std::string(suffix); }

std::string blk(uint32_t il, std::string_view name) { return "blk." + std::to_string(il) + "." + std::string(name); }

void add_tensor_spec(std::vector<tensor_spec>& out, std::string name, std::vector<uint64_t> ne, bool required) {
  out.push_back({std::move(name), std::move(ne), required});
}

void add_io_tensors(const model_params& p, std::vector<tensor_spec>& out, bool output_optional) {
  add_tensor_spec(out, "token_embd.weight", {p.n_embd, p.n_vocab});
  add_tensor_spec(out, "output_norm.weight", {p.n_embd});
  add_tensor_spec(out, "output.weight", {p.n_embd, p.n_vocab}, !output_optional);
}

void add_dense_ffn(std::vector<tensor_spec>& out, uint32_t il, uint64_t n_embd, uint64_t n_ff) {
  add_tensor_spec(out, blk(il, "ffn_gate.weight"), {n_embd, n_ff});
  add_tensor_spec(out, blk(il, "ffn_down.weight"), {n_ff, n_embd});
  add_tensor_spec(out, blk(il, "ffn_up.weight"), {n_embd, n_ff});
}

result<uint32_t> read_u32(const file& meta, const std::string& key) {
  R1_ASSIGN_OR_RETURN(uint64_t v, meta.get_uint(key));
  if (v > UINT32_MAX) return corrupt("gguf " + meta.path() + ": key '" + key + "' value " + std::to_string(v) + " is too large");
  return static_cast<uint32_t>(v);
}

result<uint32_t> read_u32_or(const file& meta, const std::string& key, uint32_t fallback) {
  if (!meta.has(key)) return fallback;
  return read_u32(meta, key);
}

result<float> read_f32_or(const file& meta, const std::string& key, float fallback) {
  R1_ASSIGN_OR_RETURN(double v, meta.get_float_or(key, fallback));
  return static_cast<float>(v);
}

}  // namespace r1::gguf
