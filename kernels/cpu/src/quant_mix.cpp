// Per-tensor type choice for model quantization (llama.cpp llama_tensor_get_type,
// for the mixes below; see gguf-and-quants.md §6).
#include "r1/kernels/quant_mix.h"

#include <array>
#include <cctype>
#include <charconv>
#include <string>

namespace r1::kernels {
namespace {

struct ftype_entry {
  file_type ft;
  std::string_view name;
  tensor_type def;
};

constexpr std::array<ftype_entry, 13> k_ftypes{{
    {file_type::all_f32, "F32", tensor_type::f32},
    {file_type::mostly_f16, "F16", tensor_type::f16},
    {file_type::mostly_bf16, "BF16", tensor_type::bf16},
    {file_type::mostly_q4_0, "Q4_0", tensor_type::q4_0},
    {file_type::mostly_q4_1, "Q4_1", tensor_type::q4_1},
    {file_type::mostly_q5_0, "Q5_0", tensor_type::q5_0},
    {file_type::mostly_q5_1, "Q5_1", tensor_type::q5_1},
    {file_type::mostly_q8_0, "Q8_0", tensor_type::q8_0},
    {file_type::mostly_q4_k_s, "Q4_K_S", tensor_type::q4_k},
    {file_type::mostly_q4_k_m, "Q4_K_M", tensor_type::q4_k},
    {file_type::mostly_q5_k_s, "Q5_K_S", tensor_type::q5_k},
    {file_type::mostly_q5_k_m, "Q5_K_M", tensor_type::q5_k},
    {file_type::mostly_q6_k, "Q6_K", tensor_type::q6_k},
}};

const ftype_entry* find_ftype(file_type f) {
  for (const auto& e : k_ftypes)
    if (e.ft == f) return &e;
  return nullptr;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

int layer_from_name(std::string_view name) {
  if (name.substr(0, 4) != "blk.") return 0;
  int v = 0;
  const auto r = std::from_chars(name.data() + 4, name.data() + name.size(), v);
  return r.ec == std::errc() ? v : 0;
}

// llama.cpp: layers that get more bits in the _M mixes.
bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

bool is_quantizable(const mix_tensor& t) {
  return ends_with(t.name, "weight") && t.n_dims >= 2 && !ends_with(t.name, "_norm.weight") &&
         !contains(t.name, "ffn_gate_inp.weight");
}

bool is_k_type(tensor_type t) {
  return t == tensor_type::q2_k || t == tensor_type::q3_k || t == tensor_type::q4_k || t == tensor_type::q5_k ||
         t == tensor_type::q6_k;
}

// K-quant rows must be whole super-blocks; llama.cpp falls back like this.
tensor_type fallback_for_row(tensor_type t, int64_t ne0) {
  const auto& info = type_info(t);
  if (ne0 % info.block_elems == 0) return t;
  switch (t) {
    case tensor_type::q4_k: return ne0 % 32 == 0 ? tensor_type::q5_0 : tensor_type::f16;
    case tensor_type::q5_k: return ne0 % 32 == 0 ? tensor_type::q5_1 : tensor_type::f16;
    case tensor_type::q6_k: return ne0 % 32 == 0 ? tensor_type::q8_0 : tensor_type::f16;
    default: return tensor_type::f16;
  }
}

tensor_type choose_quantized(file_type ft, tensor_type def, const mix_tensor& t, int layer, const mix_model& m) {
  const bool m_mix = ft == file_type::mostly_q4_k_m || ft == file_type::mostly_q5_k_m;
  const bool is_output = t.name == "output.weight" || (!m.has_output && t.name == "token_embd.weight");
  if (is_output) return (def == tensor_type::q8_0) ? def : tensor_type::q6_k;
  if (m.arch == "deepseek2" && (ft == file_type::mostly_q4_k_m || ft == file_type::mostly_q4_k_s)) {
    // Ollama keeps the MLA projections at Q8_0 for these mixes.
    for (std::string_view part : {"attn_k_b", "attn_q_a", "attn_q_b", "attn_v_b", "attn_kv_a_mqa"})
      if (contains(t.name, part)) return tensor_type::q8_0;
  }
  tensor_type out = def;
  if (contains(t.name, "attn_v.weight")) {
    if (m_mix && use_more_bits(layer, m.n_layer)) out = tensor_type::q6_k;
    else if (ft == file_type::mostly_q4_k_s && layer < 4) out = tensor_type::q5_k;
    if (m.is_70b && (out == tensor_type::q3_k || out == tensor_type::q4_k)) out = tensor_type::q5_k;
    if (m.n_expert == 8) out = tensor_type::q8_0;
  } else if (contains(t.name, "ffn_down")) {
    if (m_mix && use_more_bits(layer, m.n_layer)) out = tensor_type::q6_k;
    else if (ft == file_type::mostly_q4_k_s && layer < m.n_layer / 8) out = tensor_type::q5_k;
  } else if (contains(t.name, "attn_output.weight")) {
    if (m.n_expert == 8 && (ft == file_type::mostly_q4_k_s || ft == file_type::mostly_q4_k_m))
      out = tensor_type::q5_k;
  }
  return out;
}

}  // namespace

result<file_type> parse_file_type(std::string_view name) {
  for (const auto& e : k_ftypes) {
    if (e.name.size() != name.size()) continue;
    bool eq = true;
    for (size_t i = 0; i < name.size() && eq; ++i)
      eq = std::toupper(static_cast<unsigned char>(name[i])) == static_cast<unsigned char>(e.name[i]);
    if (eq) return e.ft;
  }
  return invalid_argument("unknown quantization type '" + std::string(name) +
                          "' (expected one of F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K_S, Q4_K_M, "
                          "Q5_K_S, Q5_K_M, Q6_K)");
}

std::string_view file_type_name(file_type f) {
  const auto* e = find_ftype(f);
  return e ? e->name : std::string_view("unknown");
}

tensor_type file_type_default(file_type f) {
  const auto* e = find_ftype(f);
  return e ? e->def : tensor_type::f32;
}

result<tensor_type> choose_mix_type(file_type ftype, const mix_tensor& t, int layer, const mix_model& m) {
  const auto* e = find_ftype(ftype);
  if (!e) return invalid_argument("choose_mix_type: file type " + std::to_string(static_cast<uint32_t>(ftype)) +
                                  " is not supported");
  if (!is_quantizable(t)) return t.current;
  if (layer < 0) layer = layer_from_name(t.name);
  const bool quantized_mix = e->def != tensor_type::f32 && e->def != tensor_type::f16 && e->def != tensor_type::bf16;
  tensor_type out = quantized_mix ? choose_quantized(ftype, e->def, t, layer, m) : e->def;
  if (quantized_mix || is_k_type(out)) out = fallback_for_row(out, t.ne0);
  return out;
}

}  // namespace r1::kernels
