// Common hyperparameter resolution (the keys every architecture reads) and
// the tensor check; arch-specific keys and tables live in arch_*.cpp.
#include "r1/gguf/model_params.h"

#include <algorithm>
#include <unordered_map>

#include "arch.h"
#include "r1/gguf/model_files.h"

namespace r1::gguf {
namespace {

constexpr uint32_t k_max_layers = 512;  // llama.cpp's LLAMA_MAX_LAYERS

status bad(const file& meta, const std::string& what) { return corrupt("gguf " + meta.path() + ": " + what); }

// A per-layer value: a scalar for every layer or an array of exactly n_layer.
result<std::vector<uint32_t>> layer_values(const file& meta, const std::string& key, uint32_t n_layer,
                                           const std::vector<uint32_t>* fallback) {
  const kv* e = meta.find(key);
  if (!e) {
    if (fallback) return *fallback;
    return not_found("gguf " + meta.path() + ": key '" + key + "' is missing");
  }
  if (e->type != value_type::array) {
    R1_ASSIGN_OR_RETURN(uint32_t v, read_u32(meta, key));
    return std::vector<uint32_t>(n_layer, v);
  }
  R1_ASSIGN_OR_RETURN(std::vector<int64_t> arr, meta.get_int_array(key));
  if (arr.size() != n_layer)
    return bad(meta, "key '" + key + "' has " + std::to_string(arr.size()) + " entries for " + std::to_string(n_layer) + " layers");
  std::vector<uint32_t> out;
  for (int64_t v : arr) {
    if (v < 0 || v > UINT32_MAX) return bad(meta, "key '" + key + "' has an out-of-range entry " + std::to_string(v));
    out.push_back(static_cast<uint32_t>(v));
  }
  return out;
}

result<rope_scaling> parse_rope_scaling(const file& meta, const std::string& key) {
  R1_ASSIGN_OR_RETURN(std::string_view s, meta.get_string_or(key, "linear"));
  if (s == "none") return rope_scaling::none;
  if (s == "linear") return rope_scaling::linear;
  if (s == "yarn") return rope_scaling::yarn;
  if (s == "longrope") return rope_scaling::longrope;
  return bad(meta, "key '" + key + "' is '" + std::string(s) + "', expected none, linear, yarn or longrope");
}

status resolve_rope(const file& meta, model_params& p) {
  R1_ASSIGN_OR_RETURN(p.rope_freq_base, read_f32_or(meta, arch_key(p, "rope.freq_base"), 10000.0f));
  R1_ASSIGN_OR_RETURN(p.rope_scaling_type, parse_rope_scaling(meta, arch_key(p, "rope.scaling.type")));
  float factor = 0;
  std::string factor_key = arch_key(p, "rope.scaling.factor");
  if (!meta.has(factor_key)) factor_key = arch_key(p, "rope.scale_linear");  // legacy name
  R1_ASSIGN_OR_RETURN(factor, read_f32_or(meta, factor_key, 0.0f));
  if (factor < 0) return bad(meta, "key '" + factor_key + "' is negative");
  p.rope_freq_scale = factor == 0 ? 1.0f : 1.0f / factor;
  if (p.rope_scaling_type == rope_scaling::none) p.rope_freq_scale = 1.0f;
  R1_ASSIGN_OR_RETURN(p.n_ctx_orig_yarn, read_u32_or(meta, arch_key(p, "rope.scaling.original_context_length"), p.n_ctx_train));
  R1_ASSIGN_OR_RETURN(p.rope_finetuned, meta.get_bool_or(arch_key(p, "rope.scaling.finetuned"), false));
  R1_ASSIGN_OR_RETURN(p.rope_attn_factor, read_f32_or(meta, arch_key(p, "rope.scaling.attn_factor"), 1.0f));
  R1_ASSIGN_OR_RETURN(p.yarn_ext_factor, read_f32_or(meta, arch_key(p, "rope.scaling.yarn_ext_factor"), -1.0f));
  R1_ASSIGN_OR_RETURN(p.yarn_attn_factor, read_f32_or(meta, arch_key(p, "rope.scaling.yarn_attn_factor"), 1.0f));
  R1_ASSIGN_OR_RETURN(p.yarn_beta_fast, read_f32_or(meta, arch_key(p, "rope.scaling.yarn_beta_fast"), 32.0f));
  R1_ASSIGN_OR_RETURN(p.yarn_beta_slow, read_f32_or(meta, arch_key(p, "rope.scaling.yarn_beta_slow"), 1.0f));
  if (!(p.rope_freq_base > 0)) return bad(meta, "key '" + arch_key(p, "rope.freq_base") + "' must be > 0");
  return {};
}

status resolve_heads(const file& meta, model_params& p) {
  R1_ASSIGN_OR_RETURN(p.n_head, layer_values(meta, arch_key(p, "attention.head_count"), p.n_layer, nullptr));
  R1_ASSIGN_OR_RETURN(p.n_head_kv, layer_values(meta, arch_key(p, "attention.head_count_kv"), p.n_layer, &p.n_head));
  for (uint32_t il = 0; il < p.n_layer; ++il) {
    if (p.n_head[il] == 0 || p.n_head_kv[il] == 0 || p.n_head[il] % p.n_head_kv[il] != 0)
      return bad(meta, "layer " + std::to_string(il) + ": head_count " + std::to_string(p.n_head[il]) +
                           " is not a positive multiple of head_count_kv " + std::to_string(p.n_head_kv[il]));
  }
  uint32_t n_head0 = p.n_head[0];
  std::string k_key = arch_key(p, "attention.key_length"), v_key = arch_key(p, "attention.value_length");
  if ((!meta.has(k_key) || !meta.has(v_key)) && p.n_embd % n_head0 != 0)
    return bad(meta, "embedding_length " + std::to_string(p.n_embd) + " is not a multiple of head_count " +
                         std::to_string(n_head0) + " and key_length/value_length are missing");
  R1_ASSIGN_OR_RETURN(p.n_embd_head_k, read_u32_or(meta, k_key, p.n_embd / n_head0));
  R1_ASSIGN_OR_RETURN(p.n_embd_head_v, read_u32_or(meta, v_key, p.n_embd / n_head0));
  R1_ASSIGN_OR_RETURN(p.n_rot, read_u32_or(meta, arch_key(p, "rope.dimension_count"), p.n_embd_head_k));
  if (p.n_embd_head_k == 0 || p.n_embd_head_v == 0) return bad(meta, "head dims must be > 0");
  if (p.n_rot % 2 != 0 || p.n_rot > p.n_embd_head_k)
    return bad(meta, "rope.dimension_count " + std::to_string(p.n_rot) + " must be even and at most key_length " +
                         std::to_string(p.n_embd_head_k));
  return {};
}

status resolve_common(const file& meta, model_params& p) {
  R1_ASSIGN_OR_RETURN(p.n_ctx_train, read_u32(meta, arch_key(p, "context_length")));
  R1_ASSIGN_OR_RETURN(p.n_embd, read_u32(meta, arch_key(p, "embedding_length")));
  R1_ASSIGN_OR_RETURN(p.n_layer, read_u32(meta, arch_key(p, "block_count")));
  if (p.n_embd == 0) return bad(meta, "embedding_length must be > 0");
  if (p.n_layer == 0 || p.n_layer > k_max_layers)
    return bad(meta, "block_count " + std::to_string(p.n_layer) + " is not in 1.." + std::to_string(k_max_layers));
  std::vector<uint32_t> zeros(p.n_layer, 0);
  R1_ASSIGN_OR_RETURN(p.n_ff, layer_values(meta, arch_key(p, "feed_forward_length"), p.n_layer,
                                           p.arch == "deepseek2" ? &zeros : nullptr));
  R1_RETURN_IF_ERROR(resolve_heads(meta, p));
  R1_ASSIGN_OR_RETURN(double eps, meta.get_float(arch_key(p, "attention.layer_norm_rms_epsilon")));
  if (!(eps > 0)) return bad(meta, "attention.layer_norm_rms_epsilon must be > 0");
  p.rms_eps = static_cast<float>(eps);
  R1_ASSIGN_OR_RETURN(p.n_expert, read_u32_or(meta, arch_key(p, "expert_count"), 0));
  R1_ASSIGN_OR_RETURN(p.n_expert_used, read_u32_or(meta, arch_key(p, "expert_used_count"), 0));
  if ((p.n_expert == 0) != (p.n_expert_used == 0) || p.n_expert_used > p.n_expert)
    return bad(meta, "expert_used_count " + std::to_string(p.n_expert_used) + " does not fit expert_count " +
                         std::to_string(p.n_expert));
  if (const kv* tokens = meta.find("tokenizer.ggml.tokens"); tokens && tokens->type == value_type::array) {
    p.n_vocab = static_cast<uint32_t>(tokens->count);  // count <= 2^30
  } else {
    R1_ASSIGN_OR_RETURN(p.n_vocab, read_u32_or(meta, arch_key(p, "vocab_size"), 0));
  }
  return resolve_rope(meta, p);
}

}  // namespace

uint32_t model_params::n_head_max() const {
  return n_head.empty() ? 0 : *std::max_element(n_head.begin(), n_head.end());
}

float model_params::effective_ext_factor() const {
  if (yarn_ext_factor >= 0) return yarn_ext_factor;
  return rope_scaling_type == rope_scaling::yarn ? 1.0f : 0.0f;
}

std::string_view rope_scaling_name(rope_scaling t) {
  switch (t) {
    case rope_scaling::none: return "none";
    case rope_scaling::linear: return "linear";
    case rope_scaling::yarn: return "yarn";
    case rope_scaling::longrope: return "longrope";
  }
  return "unknown";
}

result<model_params> resolve_params(const file& meta) {
  model_params p;
  R1_ASSIGN_OR_RETURN(std::string_view arch, meta.get_string("general.architecture"));
  const arch_def* def = find_arch(arch);
  if (!def) {
    std::string list;
    for (std::string_view n : arch_names()) list += (list.empty() ? "" : ", ") + std::string(n);
    return invalid_argument("gguf " + meta.path() + ": architecture '" + std::string(arch) +
                            "' is not supported (supported: " + list + ")");
  }
  p.arch = std::string(arch);
  p.rope = def->rope;
  R1_RETURN_IF_ERROR(resolve_common(meta, p));
  R1_RETURN_IF_ERROR(def->resolve(meta, p));
  return p;
}

result<std::vector<tensor_spec>> expected_tensors(const model_params& p) {
  const arch_def* def = find_arch(p.arch);
  if (!def) return invalid_argument("architecture '" + p.arch + "' is not supported");
  std::vector<tensor_spec> out;
  def->tensors(p, out);
  return out;
}

namespace {

std::string shape_of(const std::vector<uint64_t>& ne) {
  std::string s = "[";
  for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + (ne[i] ? std::to_string(ne[i]) : std::string("*"));
  return s + "]";
}

bool shape_matches(const tensor_spec& spec, const tensor_info& t) {
  if (t.n_dims != spec.ne.size()) {
    // ggml drops trailing 1s when writing ({4096, 1} is stored as {4096}); compare padded.
    for (size_t d = spec.ne.size(); d < 4; ++d)
      if (t.ne[d] != 1) return false;
  }
  for (size_t d = 0; d < 4; ++d) {
    uint64_t want = d < spec.ne.size() ? spec.ne[d] : 1;
    if (want != 0 && t.ne[d] != want) return false;
  }
  return true;
}

using tensor_lookup = std::unordered_map<std::string_view, const tensor_info*>;

status check_against(model_params& p, const tensor_lookup& present, const std::string& where) {
  R1_ASSIGN_OR_RETURN(std::vector<tensor_spec> specs, expected_tensors(p));
  size_t used = 0;
  for (const tensor_spec& spec : specs) {
    auto it = present.find(spec.name);
    if (it == present.end()) {
      if (spec.required)
        return corrupt(where + ": " + p.arch + " model is missing tensor '" + spec.name + "' " + shape_of(spec.ne));
      continue;
    }
    ++used;
    if (!shape_matches(spec, *it->second))
      return corrupt(where + ": tensor '" + spec.name + "' has shape " + it->second->shape_string() + ", expected " +
                     shape_of(spec.ne));
  }
  if (used != present.size()) {
    std::unordered_map<std::string_view, bool> known;
    for (const tensor_spec& spec : specs) known[spec.name] = true;
    for (const auto& [name, info] : present)
      if (!known.count(name)) return corrupt(where + ": tensor '" + std::string(name) + "' is not used by " + p.arch);
  }
  p.tied_output = !present.count("output.weight");
  p.has_rope_freqs = present.count("rope_freqs.weight") != 0;
  return {};
}

}  // namespace

status check_tensors(model_params& p, const model_files& m) {
  tensor_lookup present;
  for (const tensor_ref& r : m.tensors()) present.emplace(r.info->name, r.info);
  return check_against(p, present, "gguf " + m.metadata().path());
}

status check_tensors(model_params& p, const file& f) {
  tensor_lookup present;
  for (const tensor_info& t : f.tensors()) present.emplace(t.name, &t);
  return check_against(p, present, "gguf " + f.path());
}

}  // namespace r1::gguf
