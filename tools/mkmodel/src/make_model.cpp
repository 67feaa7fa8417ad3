// Test model assembly: metadata per architecture, tokenizer, tensor list from
// gguf::expected_tensors(), per-tensor type choice and random fill.
#include "r1/mkmodel/make_model.h"

#include <cstring>

#include "r1/base/raii.h"
#include "r1/gguf/file.h"
#include "r1/gguf/model_params.h"
#include "r1/mkmodel/tokenizer_data.h"
#include "r1/mkmodel/weight_fill.h"

#if R1_MKMODEL_HAVE_KERNELS
#include "r1/kernels/quant_mix.h"
#endif

namespace r1::mkmodel {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The type named on the command line: a plain tensor type or a llama.cpp mix.
struct type_choice {
  std::string name;
  bool is_mix = false;
  tensor_type plain = tensor_type::f16;
  uint32_t file_type = 1;
};

result<type_choice> parse_type(const std::string& name) {
  type_choice c;
  c.name = name;
  std::string upper;
  for (char ch : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (upper == "Q4_K_M" || upper == "Q5_K_M" || upper == "Q4_K_S" || upper == "Q5_K_S") {
    c.is_mix = true;
    c.plain = upper[1] == '4' ? tensor_type::q4_k : tensor_type::q5_k;
    c.file_type = *gguf::file_type_from_name(upper);
  } else {
    auto t = parse_tensor_type(name);
    if (!t) return invalid_argument("unknown weight type '" + name + "'");
    c.plain = *t;
    static const std::pair<tensor_type, uint32_t> ftypes[] = {
        {tensor_type::f32, 0}, {tensor_type::f16, 1}, {tensor_type::bf16, 32}, {tensor_type::q4_0, 2},
        {tensor_type::q4_1, 3}, {tensor_type::q5_0, 8}, {tensor_type::q5_1, 9}, {tensor_type::q8_0, 7},
        {tensor_type::q2_k, 10}, {tensor_type::q3_k, 12}, {tensor_type::q4_k, 14}, {tensor_type::q5_k, 16},
        {tensor_type::q6_k, 18}};
    bool found = false;
    for (const auto& [tt, ft] : ftypes)
      if (tt == c.plain) c.file_type = ft, found = true;
    if (!found) return invalid_argument("weight type '" + name + "' is not a file type r1-mkmodel writes");
  }
  if (!can_write_type(c.plain))
    return invalid_argument("weight type '" + name + "' needs the CPU kernels' quantizers, which this build lacks");
  return c;
}

bool quantizable(const gguf::tensor_spec& t) {
  return ends_with(t.name, ".weight") && t.ne.size() >= 2 && !ends_with(t.name, "_norm.weight") &&
         t.name.find("ffn_gate_inp") == std::string::npos;
}

// A K-quant whose rows are not whole super-blocks falls back as llama.cpp does; then F16.
tensor_type fit_type(tensor_type t, uint64_t ne0) {
  if (row_is_whole(type_info(t), ne0)) return t;
  tensor_type fb = t;
  switch (t) {
    case tensor_type::q4_k: fb = tensor_type::q5_0; break;
    case tensor_type::q5_k: fb = tensor_type::q5_1; break;
    case tensor_type::q6_k: fb = tensor_type::q8_0; break;
    case tensor_type::q2_k: case tensor_type::q3_k: fb = tensor_type::q4_0; break;
    default: break;
  }
  if (can_write_type(fb) && row_is_whole(type_info(fb), ne0)) return fb;
  return tensor_type::f16;
}

result<tensor_type> choose_type(const type_choice& c, const gguf::tensor_spec& t, const gguf::model_params& p) {
  if (!quantizable(t)) return tensor_type::f32;
  if (!c.is_mix) return fit_type(c.plain, t.ne[0]);
#if R1_MKMODEL_HAVE_KERNELS
  R1_ASSIGN_OR_RETURN(kernels::file_type ft, kernels::parse_file_type(c.name));
  kernels::mix_tensor mt{t.name, static_cast<int>(t.ne.size()), static_cast<int64_t>(t.ne[0]), tensor_type::f32};
  kernels::mix_model mm{p.arch, static_cast<int>(p.n_layer), static_cast<int>(p.n_expert), p.n_embd == 8192 && p.n_layer == 80,
                        !p.tied_output};
  R1_ASSIGN_OR_RETURN(tensor_type chosen, kernels::choose_mix_type(ft, mt, -1, mm));
  return fit_type(chosen, t.ne[0]);
#else
  (void)p;
  return invalid_argument("weight mix '" + c.name + "' needs the CPU kernels");
#endif
}

result<tokenizer_data> make_tokenizer(const model_spec& s) {
  tokenizer_data t;
  if (s.tokenizer.empty()) {
    t = synthetic_tokenizer();
  } else {
    R1_ASSIGN_OR_RETURN(t, load_hf_tokenizer(s.tokenizer));
    bool distill = s.r1_distill.value_or(s.arch == "qwen2" || s.arch == "llama");
    if (distill) R1_RETURN_IF_ERROR(apply_r1_distill(t));
  }
  if (!s.pre.empty()) t.pre = s.pre;
  if (s.vocab_limit) R1_RETURN_IF_ERROR(limit_vocab(t, s.vocab_limit));
  if (!s.chat_template_file.empty()) {
    R1_ASSIGN_OR_RETURN(t.chat_template, read_file(s.chat_template_file, size_t{1} << 20));
  }
  if (s.n_vocab > t.size()) {
    if (!s.vocab_limit) pad_vocab(t, s.n_vocab);
  } else if (s.n_vocab && s.n_vocab < t.size() && !s.vocab_limit) {
    return invalid_argument("n_vocab " + std::to_string(s.n_vocab) + " is smaller than the tokenizer's " +
                            std::to_string(t.size()) + " tokens (use a vocabulary limit)");
  }
  R1_RETURN_IF_ERROR(check_vocab(t));
  return t;
}

void write_deepseek2_keys(const model_spec& s, gguf::writer& w, const std::string& a) {
  uint32_t head_k = s.nope_dim + s.rope_dim;
  w.set_u32(a + ".leading_dense_block_count", s.n_dense_lead);
  w.set_u32(a + ".attention.q_lora_rank", s.q_lora_rank);
  w.set_u32(a + ".attention.kv_lora_rank", s.kv_lora_rank);
  if (s.mla_split) {
    w.set_u32(a + ".attention.head_count_kv", 1);
    w.set_u32(a + ".attention.key_length", s.kv_lora_rank + s.rope_dim);
    w.set_u32(a + ".attention.value_length", s.kv_lora_rank);
    w.set_u32(a + ".attention.key_length_mla", head_k);
    w.set_u32(a + ".attention.value_length_mla", s.v_head_dim);
  } else {
    w.set_u32(a + ".attention.key_length", head_k);
    w.set_u32(a + ".attention.value_length", s.v_head_dim);
  }
  w.set_u32(a + ".expert_feed_forward_length", s.n_ff_exp);
  w.set_u32(a + ".expert_count", s.n_expert);
  w.set_u32(a + ".expert_used_count", s.n_expert_used);
  w.set_u32(a + ".expert_shared_count", s.n_expert_shared);
  w.set_f32(a + ".expert_weights_scale", s.expert_weights_scale);
  w.set_bool(a + ".expert_weights_norm", s.expert_weights_norm);
  w.set_u32(a + ".expert_gating_func", s.gating_func);
  if (s.n_expert_groups) {
    w.set_u32(a + ".expert_group_count", s.n_expert_groups);
    w.set_u32(a + ".expert_group_used_count", s.n_group_used);
  }
  w.set_u32(a + ".rope.dimension_count", s.rope_dim);
  if (s.yarn_factor > 0) w.set_f32(a + ".rope.scaling.yarn_log_multiplier", 0.1f);
}

status write_metadata(const model_spec& s, const tokenizer_data& tok, const type_choice& tc, gguf::writer& w) {
  const std::string& a = s.arch;
  w.set_string("general.architecture", a);
  w.set_string("general.type", "model");
  w.set_string("general.name", s.name);
  w.set_u32(a + ".block_count", s.n_layer);
  w.set_u32(a + ".context_length", s.n_ctx);
  w.set_u32(a + ".embedding_length", s.n_embd);
  w.set_u32(a + ".feed_forward_length", s.n_ff);
  w.set_u32(a + ".attention.head_count", s.n_head);
  w.set_u32(a + ".attention.head_count_kv", s.n_head_kv);
  w.set_f32(a + ".rope.freq_base", s.rope_base);
  w.set_f32(a + ".attention.layer_norm_rms_epsilon", s.rms_eps);
  uint32_t head_dim = s.head_dim ? s.head_dim : (s.n_head ? s.n_embd / s.n_head : 0);
  if (a == "qwen2" && s.head_dim && s.head_dim * s.n_head != s.n_embd)
    return invalid_argument("qwen2 needs head_dim * n_head == n_embd");
  if (a == "llama" || a == "qwen3") {
    w.set_u32(a + ".attention.key_length", head_dim);
    w.set_u32(a + ".attention.value_length", head_dim);
  }
  if (a == "llama") {
    w.set_u32(a + ".rope.dimension_count", head_dim);
    w.set_u32(a + ".vocab_size", static_cast<uint32_t>(tok.size()));
  }
  if (a == "deepseek2") {
    w.set_u32(a + ".vocab_size", static_cast<uint32_t>(tok.size()));
    write_deepseek2_keys(s, w, a);
  }
  if (s.yarn_factor > 0) {
    w.set_string(a + ".rope.scaling.type", "yarn");
    w.set_f32(a + ".rope.scaling.factor", s.yarn_factor);
    w.set_u32(a + ".rope.scaling.original_context_length", s.yarn_orig_ctx);
  }
  w.set_u32("general.file_type", tc.file_type);
  w.set_u32("general.quantization_version", 2);
  write_tokenizer(tok, w);
  return {};
}

bool include_optional(const model_spec& s, const std::string& name) {
  if (name == "output.weight") return !s.tied_output;
  if (name == "rope_freqs.weight") return s.rope_freqs;
  if (ends_with(name, "exp_probs_b.bias")) return true;
  if (s.arch == "qwen2" && s.qkv_bias)
    return ends_with(name, "attn_q.bias") || ends_with(name, "attn_k.bias") || ends_with(name, "attn_v.bias");
  return false;
}

// Projections whose output is added to the residual stream.
bool writes_residual(const std::string& name) {
  return name.find(".attn_output.") != std::string::npos || name.find(".ffn_down") != std::string::npos;
}

fill_kind kind_of(const std::string& name) {
  if (name == "rope_freqs.weight") return fill_kind::rope_freqs;
  if (ends_with(name, "_norm.weight")) return fill_kind::norm;
  if (ends_with(name, ".bias")) return fill_kind::bias;
  return fill_kind::weight;
}

status check_spec(const model_spec& s) {
  if (s.n_layer == 0 || s.n_embd == 0 || s.n_head == 0 || s.n_head_kv == 0 || s.n_ff == 0)
    return invalid_argument("layers, embedding, heads, kv heads and ffn width must all be > 0");
  if (s.n_head % s.n_head_kv != 0) return invalid_argument("n_head must be a multiple of n_head_kv");
  if (!s.head_dim && s.n_embd % s.n_head != 0) return invalid_argument("n_embd must be a multiple of n_head");
  if (s.arch == "deepseek2" && s.tied_output) return invalid_argument("deepseek2 models always have an output tensor");
  if (s.n_split == 0) return invalid_argument("split count must be >= 1");
  return {};
}

}  // namespace

bool type_supported(std::string_view type) { return parse_type(std::string(type)).ok(); }

result<gguf::writer> build_metadata(const model_spec& spec) {
  R1_RETURN_IF_ERROR(check_spec(spec));
  R1_ASSIGN_OR_RETURN(type_choice tc, parse_type(spec.type));
  R1_ASSIGN_OR_RETURN(tokenizer_data tok, make_tokenizer(spec));
  gguf::writer w;
  R1_RETURN_IF_ERROR(write_metadata(spec, tok, tc, w));
  return w;
}

result<gguf::writer> build_model(const model_spec& spec) {
  R1_ASSIGN_OR_RETURN(type_choice tc, parse_type(spec.type));
  R1_ASSIGN_OR_RETURN(gguf::writer w, build_metadata(spec));
  // Resolve the metadata with the reader so the tensor table is the one the loader will check.
  R1_ASSIGN_OR_RETURN(std::string head, w.to_bytes());
  R1_ASSIGN_OR_RETURN(gguf::file meta, gguf::file::open_memory(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(head.data()), head.size()), "<" + spec.name + ">"));
  R1_ASSIGN_OR_RETURN(gguf::model_params p, gguf::resolve_params(meta));
  p.tied_output = spec.tied_output;
  R1_ASSIGN_OR_RETURN(std::vector<gguf::tensor_spec> specs, gguf::expected_tensors(p));
  for (const gguf::tensor_spec& t : specs) {
    if (!t.required && !include_optional(spec, t.name)) continue;
    R1_ASSIGN_OR_RETURN(tensor_type type, choose_type(tc, t, p));
    fill_desc d{t.name, type, t.ne[0], kind_of(t.name), spec.seed, spec.rope_base};
    if (writes_residual(t.name)) d.scale = spec.residual_scale;
    R1_RETURN_IF_ERROR(w.add_tensor(t.name, type, t.ne, [d](uint64_t first, uint64_t n, uint8_t* dst) {
      return fill_rows(d, first, n, dst);
    }));
  }
  return w;
}

result<std::vector<std::string>> write_model(const model_spec& spec, const std::string& path) {
  R1_ASSIGN_OR_RETURN(gguf::writer w, build_model(spec));
  if (spec.n_split <= 1) {
    R1_RETURN_IF_ERROR(w.write(path));
    return std::vector<std::string>{path};
  }
  std::string prefix = ends_with(path, ".gguf") ? path.substr(0, path.size() - 5) : path;
  return w.write_split(prefix, spec.n_split);
}

}  // namespace r1::mkmodel
