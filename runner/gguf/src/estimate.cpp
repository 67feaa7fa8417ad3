// Sizes and names the daemon needs without loading a model.
#include <array>
#include <map>

#include "r1/gguf/model_files.h"
#include "r1/gguf/model_params.h"

namespace r1::gguf {
namespace {

struct ftype_name {
  uint32_t id;
  std::string_view name;
};

// enum llama_ftype, named as Ollama shows it (details.quantization_level).
constexpr std::array<ftype_name, 35> k_ftypes{{
    {0, "F32"},      {1, "F16"},      {2, "Q4_0"},     {3, "Q4_1"},     {7, "Q8_0"},
    {8, "Q5_0"},     {9, "Q5_1"},     {10, "Q2_K"},    {11, "Q3_K_S"},  {12, "Q3_K_M"},
    {13, "Q3_K_L"},  {14, "Q4_K_S"},  {15, "Q4_K_M"},  {16, "Q5_K_S"},  {17, "Q5_K_M"},
    {18, "Q6_K"},    {19, "IQ2_XXS"}, {20, "IQ2_XS"},  {21, "Q2_K_S"},  {22, "IQ3_XS"},
    {23, "IQ3_XXS"}, {24, "IQ1_S"},   {25, "IQ4_NL"},  {26, "IQ3_S"},   {27, "IQ3_M"},
    {28, "IQ2_S"},   {29, "IQ2_M"},   {30, "IQ4_XS"},  {31, "IQ1_M"},   {32, "BF16"},
    {36, "TQ1_0"},   {37, "TQ2_0"},   {38, "MXFP4_MOE"}, {4, "Q4_1_SOME_F16"}, {1024, "GUESSED"},
}};

// The file type llama.cpp guesses from the most common tensor type.
std::string_view guess_from_type(tensor_type t) {
  switch (t) {
    case tensor_type::f32: return "F32";
    case tensor_type::f16: return "F16";
    case tensor_type::bf16: return "BF16";
    case tensor_type::q4_0: return "Q4_0";
    case tensor_type::q4_1: return "Q4_1";
    case tensor_type::q5_0: return "Q5_0";
    case tensor_type::q5_1: return "Q5_1";
    case tensor_type::q8_0: return "Q8_0";
    case tensor_type::q2_k: return "Q2_K";
    case tensor_type::q3_k: return "Q3_K_M";
    case tensor_type::q4_k: return "Q4_K_M";
    case tensor_type::q5_k: return "Q5_K_M";
    case tensor_type::q6_k: return "Q6_K";
    default: return type_info(t).name;
  }
}

}  // namespace

std::string_view file_type_name(uint32_t file_type) {
  for (const ftype_name& f : k_ftypes)
    if (f.id == file_type) return f.name;
  return "unknown";
}

std::optional<uint32_t> file_type_from_name(std::string_view name) {
  for (const ftype_name& f : k_ftypes) {
    if (f.name.size() != name.size()) continue;
    bool eq = true;
    for (size_t i = 0; i < name.size() && eq; ++i)
      eq = std::toupper(static_cast<unsigned char>(name[i])) == static_cast<unsigned char>(f.name[i]);
    if (eq) return f.id;
  }
  return std::nullopt;
}

std::string file_type_of(const model_files& m) {
  auto ft = m.metadata().get_uint("general.file_type");
  if (ft.ok() && *ft <= UINT32_MAX) return std::string(file_type_name(static_cast<uint32_t>(*ft)));
  std::map<uint32_t, uint64_t> counts;  // by tensor count, as llama.cpp does
  for (const tensor_ref& r : m.tensors())
    if (r.info->n_dims >= 2) ++counts[static_cast<uint32_t>(r.info->type)];
  if (counts.empty()) return "unknown";
  auto best = counts.begin();
  for (auto it = counts.begin(); it != counts.end(); ++it)
    if (it->second > best->second) best = it;
  return std::string(guess_from_type(static_cast<tensor_type>(best->first)));
}

uint64_t weight_bytes(const model_files& m) {
  uint64_t n = 0;
  for (const tensor_ref& r : m.tensors()) n += r.info->size;
  return n;
}

uint64_t parameter_count(const model_files& m) {
  uint64_t n = 0;
  for (const tensor_ref& r : m.tensors()) n += r.info->n_elements();
  return n;
}

uint64_t kv_bytes_per_token_layer(const model_params& p, uint32_t il, tensor_type k_type, tensor_type v_type) {
  auto bytes = [](tensor_type t, uint64_t n) {
    const tensor_type_info& info = type_info(t);
    return (n + info.block_elems - 1) / info.block_elems * info.block_bytes;
  };
  // MLA-split files cache one latent row per token, [c | k_pe]; V is c, read from inside it.
  if (p.is_mla()) return bytes(k_type, p.n_embd_k_gqa(il));
  return bytes(k_type, p.n_embd_k_gqa(il)) + bytes(v_type, p.n_embd_v_gqa(il));
}

uint64_t kv_bytes_per_token(const model_params& p, tensor_type k_type, tensor_type v_type) {
  uint64_t total = 0;
  for (uint32_t il = 0; il < p.n_layer; ++il) total += kv_bytes_per_token_layer(p, il, k_type, v_type);
  return total;
}

}  // namespace r1::gguf
