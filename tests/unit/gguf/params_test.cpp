// Hyperparameter resolution and tensor tables per architecture, checked
// against the published shapes of the models r1 serves.
#include <cmath>

#include <gtest/gtest.h>

#include "r1/gguf/model_files.h"
#include "r1/gguf/model_params.h"
#include "r1/gguf/writer.h"
#include "r1/mkmodel/make_model.h"
#include "raw_gguf.h"

namespace r1::gguf {
namespace {

using testing::as_span;

struct opened {
  std::string bytes;
  file f;
};

// Metadata of a preset, opened with the reader.
opened preset_meta(std::string_view arch, std::string_view name, void (*edit)(mkmodel::model_spec&) = nullptr) {
  auto spec = mkmodel::preset(arch, name);
  EXPECT_TRUE(spec.ok()) << spec.error().to_string();
  if (edit) edit(*spec);
  auto w = mkmodel::build_metadata(*spec);
  EXPECT_TRUE(w.ok()) << w.error().to_string();
  opened o{*w->to_bytes(), {}};
  auto f = file::open_memory(as_span(o.bytes), std::string(arch) + "-" + std::string(name));
  EXPECT_TRUE(f.ok()) << f.error().to_string();
  o.f = std::move(*f);
  return o;
}

uint64_t param_count(const model_params& p, bool with_optional_biases) {
  auto specs = expected_tensors(p);
  EXPECT_TRUE(specs.ok());
  uint64_t n = 0;
  for (const tensor_spec& t : *specs) {
    if (!t.required && !(with_optional_biases && t.name.find("attn_") != std::string::npos &&
                         t.name.find(".bias") != std::string::npos) && t.name != "output.weight")
      continue;
    uint64_t e = 1;
    for (uint64_t d : t.ne) e *= d;
    n += e;
  }
  return n;
}

TEST(GgufParams, Qwen2DistillShapes) {
  auto m = preset_meta("qwen2", "1.5b");
  auto p = resolve_params(m.f);
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  EXPECT_EQ(p->arch, "qwen2");
  EXPECT_EQ(p->rope, rope_mode::neox);
  EXPECT_EQ(p->n_embd, 1536u);
  EXPECT_EQ(p->n_layer, 28u);
  EXPECT_EQ(p->n_vocab, 151936u);
  EXPECT_EQ(p->n_head[27], 12u);
  EXPECT_EQ(p->n_head_kv[0], 2u);
  EXPECT_EQ(p->n_embd_head_k, 128u);  // n_embd / n_head: no key_length in qwen2 files
  EXPECT_EQ(p->n_rot, 128u);
  EXPECT_EQ(p->n_ff[3], 8960u);
  EXPECT_FLOAT_EQ(p->rms_eps, 1e-6f);
  EXPECT_EQ(p->rope_freq_base, 10000.0f);
  EXPECT_EQ(p->rope_scaling_type, rope_scaling::linear);
  EXPECT_EQ(p->rope_freq_scale, 1.0f);
  EXPECT_EQ(p->n_ctx_orig_yarn, 131072u);
  // Published parameter counts of R1-Distill-Qwen-1.5B / -7B (untied heads, q/k/v biases).
  EXPECT_EQ(param_count(*p, true), 1777088000u);
  EXPECT_EQ(kv_bytes_per_token(*p), 28u * 1024);
  auto m7 = preset_meta("qwen2", "7b");
  auto p7 = resolve_params(m7.f);
  ASSERT_TRUE(p7.ok());
  EXPECT_EQ(param_count(*p7, true), 7615616512u);
  EXPECT_EQ(kv_bytes_per_token(*p7), 56u * 1024);
  EXPECT_EQ(kv_bytes_per_token(*p7, tensor_type::q8_0, tensor_type::q8_0), 2u * 28 * 512 * 34 / 32);
}

TEST(GgufParams, LlamaAndQwen3Shapes) {
  auto ml = preset_meta("llama", "8b");
  auto pl = resolve_params(ml.f);
  ASSERT_TRUE(pl.ok()) << pl.error().to_string();
  EXPECT_EQ(pl->rope, rope_mode::norm);
  EXPECT_EQ(pl->rope_freq_base, 500000.0f);
  EXPECT_EQ(kv_bytes_per_token(*pl), 128u * 1024);
  EXPECT_EQ(param_count(*pl, false), 8030261248u);  // Llama-3.1-8B
  auto mq = preset_meta("qwen3", "8b");
  auto pq = resolve_params(mq.f);
  ASSERT_TRUE(pq.ok()) << pq.error().to_string();
  EXPECT_EQ(pq->rope, rope_mode::neox);
  EXPECT_EQ(pq->n_embd_head_k, 128u);
  EXPECT_EQ(kv_bytes_per_token(*pq), 144u * 1024);
  EXPECT_EQ(param_count(*pq, false), 8190735360u);  // Qwen3-8B
  auto specs = expected_tensors(*pq);
  bool has_q_norm = false;
  for (const auto& t : *specs) has_q_norm |= t.name == "blk.35.attn_q_norm.weight" && t.ne == std::vector<uint64_t>{128};
  EXPECT_TRUE(has_q_norm);
}

TEST(GgufParams, DeepSeekR1BothGenerations) {
  auto m = preset_meta("deepseek2", "671b");
  auto p = resolve_params(m.f);
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  EXPECT_TRUE(p->is_mla());
  EXPECT_EQ(p->n_embd_head_k, 576u);
  EXPECT_EQ(p->n_embd_head_v, 512u);
  EXPECT_EQ(p->n_head_kv[0], 1u);
  EXPECT_EQ(p->n_rot, 64u);
  EXPECT_EQ(p->n_lora_q, 1536u);
  EXPECT_EQ(p->n_lora_kv, 512u);
  EXPECT_EQ(p->n_layer_dense_lead, 3u);
  EXPECT_EQ(p->n_expert, 256u);
  EXPECT_EQ(p->n_expert_used, 8u);
  EXPECT_EQ(p->expert_gating, gating_func::sigmoid);
  EXPECT_TRUE(p->expert_weights_norm);
  EXPECT_FLOAT_EQ(p->expert_weights_scale, 2.5f);
  EXPECT_EQ(p->rope_scaling_type, rope_scaling::yarn);
  EXPECT_FLOAT_EQ(p->rope_freq_scale, 1.0f / 40);
  EXPECT_EQ(p->n_ctx_orig_yarn, 4096u);
  EXPECT_FLOAT_EQ(p->yarn_log_multiplier, 1.0f);  // 0.1 in the file, divided by 0.1 on load
  EXPECT_EQ(p->effective_ext_factor(), 1.0f);
  // One latent row [c | k_pe] per token and layer; V is read from inside it (70,272 bytes).
  EXPECT_EQ(kv_bytes_per_token(*p), 61u * 576 * 2);
  // DeepSeek-R1 has 671B parameters (the converter drops the MTP layer).
  double billions = static_cast<double>(param_count(*p, false)) / 1e9;
  EXPECT_NEAR(billions, 671.0, 1.0);
  auto specs = *expected_tensors(*p);
  auto find = [&](const std::string& n) -> const tensor_spec* {
    for (const auto& t : specs)
      if (t.name == n) return &t;
    return nullptr;
  };
  ASSERT_NE(find("blk.5.attn_k_b.weight"), nullptr);
  EXPECT_EQ(find("blk.5.attn_k_b.weight")->ne, (std::vector<uint64_t>{128, 512, 128}));
  EXPECT_EQ(find("blk.5.attn_v_b.weight")->ne, (std::vector<uint64_t>{512, 128, 128}));
  EXPECT_EQ(find("blk.5.attn_kv_b.weight"), nullptr);
  EXPECT_EQ(find("blk.2.ffn_gate.weight")->ne, (std::vector<uint64_t>{7168, 18432}));
  EXPECT_EQ(find("blk.3.ffn_gate_exps.weight")->ne, (std::vector<uint64_t>{7168, 2048, 256}));
  EXPECT_FALSE(find("blk.3.exp_probs_b.bias")->required);

  auto legacy = preset_meta("deepseek2", "671b", [](mkmodel::model_spec& s) { s.mla_split = false; });
  auto pl = resolve_params(legacy.f);
  ASSERT_TRUE(pl.ok()) << pl.error().to_string();
  EXPECT_FALSE(pl->is_mla());
  EXPECT_EQ(pl->n_head_kv[0], 128u);
  EXPECT_EQ(kv_bytes_per_token(*pl), 61u * 128 * (192 + 128) * 2);  // about 5 MB
  auto lspecs = *expected_tensors(*pl);
  bool kv_b = false;
  for (const auto& t : lspecs)
    if (t.name == "blk.0.attn_kv_b.weight") kv_b = t.ne == std::vector<uint64_t>{512, 32768};
  EXPECT_TRUE(kv_b);
}

// Hand-written metadata for the resolution rules.
file meta_of(const writer& w, std::string& keep) {
  keep = *w.to_bytes();
  auto f = file::open_memory(as_span(keep), "h.gguf");
  EXPECT_TRUE(f.ok()) << f.error().to_string();
  return std::move(*f);
}

writer base_qwen2() {
  writer w;
  w.set_string("general.architecture", "qwen2");
  w.set_u32("qwen2.context_length", 4096);
  w.set_u32("qwen2.embedding_length", 64);
  w.set_u32("qwen2.block_count", 3);
  w.set_u32("qwen2.feed_forward_length", 128);
  w.set_u32("qwen2.attention.head_count", 4);
  w.set_f32("qwen2.attention.layer_norm_rms_epsilon", 1e-6f);
  return w;
}

TEST(GgufParams, DefaultsArraysAndRopeScaling) {
  std::string keep;
  writer w = base_qwen2();
  auto p = resolve_params(meta_of(w, keep));
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  EXPECT_EQ(p->n_head_kv, (std::vector<uint32_t>{4, 4, 4}));  // defaults to head_count
  EXPECT_EQ(p->n_embd_head_k, 16u);
  EXPECT_EQ(p->rope_freq_base, 10000.0f);
  EXPECT_EQ(p->n_vocab, 0u);

  std::vector<int32_t> kv{1, 2, 4};
  w.set_i32_array("qwen2.attention.head_count_kv", kv);
  w.set_u16("qwen2.context_length", 2048);  // any integer width is accepted
  w.set_string("qwen2.rope.scaling.type", "yarn");
  w.set_f32("qwen2.rope.scaling.factor", 4.0f);
  w.set_u32("qwen2.rope.scaling.original_context_length", 32768);
  w.set_f32("qwen2.rope.freq_base", 1e6f);
  w.set_u32("qwen2.vocab_size", 1000);
  p = resolve_params(meta_of(w, keep));
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  EXPECT_EQ(p->n_head_kv, (std::vector<uint32_t>{1, 2, 4}));
  EXPECT_EQ(p->n_ctx_train, 2048u);
  EXPECT_EQ(p->rope_scaling_type, rope_scaling::yarn);
  EXPECT_FLOAT_EQ(p->rope_freq_scale, 0.25f);
  EXPECT_EQ(p->n_ctx_orig_yarn, 32768u);
  EXPECT_EQ(p->effective_ext_factor(), 1.0f);
  EXPECT_EQ(p->rope_freq_base, 1e6f);
  EXPECT_EQ(p->n_vocab, 1000u);
  EXPECT_EQ(kv_bytes_per_token(*p, tensor_type::f32, tensor_type::f32), (1u + 2 + 4) * 16 * 2 * 4);

  w.set_string("qwen2.rope.scaling.type", "none");
  p = resolve_params(meta_of(w, keep));
  EXPECT_EQ(p->rope_freq_scale, 1.0f);
  w.remove("qwen2.rope.scaling.factor");
  w.set_string("qwen2.rope.scaling.type", "linear");
  w.set_f32("qwen2.rope.scale_linear", 2.0f);  // legacy key
  p = resolve_params(meta_of(w, keep));
  EXPECT_EQ(p->rope_freq_scale, 0.5f);
}

void expect_refused(const writer& w, error_code code, std::string_view needle) {
  std::string keep;
  auto p = resolve_params(meta_of(w, keep));
  ASSERT_FALSE(p.ok()) << "accepted; expected " << needle;
  EXPECT_EQ(p.error().code(), code) << p.error().to_string();
  EXPECT_NE(p.error().message().find(needle), std::string::npos) << p.error().message();
}

TEST(GgufParams, RefusesBadMetadata) {
  writer w = base_qwen2();
  w.set_string("general.architecture", "gpt-oss");
  expect_refused(w, error_code::invalid_argument, "'gpt-oss' is not supported");
  w = base_qwen2();
  w.remove("qwen2.block_count");
  expect_refused(w, error_code::not_found, "qwen2.block_count");
  w = base_qwen2();
  w.remove("qwen2.attention.layer_norm_rms_epsilon");
  expect_refused(w, error_code::not_found, "layer_norm_rms_epsilon");
  w = base_qwen2();
  w.set_u32("qwen2.attention.head_count_kv", 3);
  expect_refused(w, error_code::corrupt, "head_count_kv 3");
  w = base_qwen2();
  std::vector<uint32_t> two{4, 4};
  w.set_u32_array("qwen2.attention.head_count", two);
  expect_refused(w, error_code::corrupt, "has 2 entries for 3 layers");
  w = base_qwen2();
  w.set_u32("qwen2.attention.head_count", 5);
  expect_refused(w, error_code::corrupt, "not a multiple of head_count");
  w = base_qwen2();
  w.set_string("qwen2.rope.scaling.type", "magic");
  expect_refused(w, error_code::corrupt, "'magic'");
  w = base_qwen2();
  w.set_u64("qwen2.embedding_length", 1ull << 40);
  expect_refused(w, error_code::corrupt, "too large");
  w = base_qwen2();
  w.set_u32("qwen2.rope.dimension_count", 17);
  expect_refused(w, error_code::corrupt, "must be even");
  w = base_qwen2();
  w.set_u32("qwen2.block_count", 100000);
  expect_refused(w, error_code::corrupt, "block_count 100000");
  w = base_qwen2();
  w.set_string("general.architecture", "llama");
  for (const char* k : {"context_length", "embedding_length", "block_count", "feed_forward_length",
                        "attention.head_count", "attention.layer_norm_rms_epsilon"})
    w.set_u32(std::string("llama.") + k, 16);
  w.set_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  w.set_u32("llama.attention.head_count", 4);
  w.set_u32("llama.rope.dimension_count", 2);
  expect_refused(w, error_code::corrupt, "llama needs rope.dimension_count");
  w.set_u32("llama.expert_count", 4);
  w.set_u32("llama.rope.dimension_count", 4);
  expect_refused(w, error_code::corrupt, "expert_used_count 0");
}

TEST(GgufParams, FileTypeNames) {
  EXPECT_EQ(file_type_name(15), "Q4_K_M");
  EXPECT_EQ(file_type_name(1), "F16");
  EXPECT_EQ(file_type_name(32), "BF16");
  EXPECT_EQ(file_type_name(7), "Q8_0");
  EXPECT_EQ(file_type_name(999), "unknown");
  EXPECT_EQ(*file_type_from_name("q4_k_m"), 15u);
  EXPECT_FALSE(file_type_from_name("Q9").has_value());
  EXPECT_EQ(rope_scaling_name(rope_scaling::yarn), "yarn");
  EXPECT_EQ(supported_architectures().size(), 4u);
}

}  // namespace
}  // namespace r1::gguf
