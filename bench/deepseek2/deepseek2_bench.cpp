// deepseek2 benchmark (not a test).
//
// 1. Writes a deepseek2 model shaped like DeepSeek-R1 but scaled down to fit this machine: R1's
//    exact attention head geometry (kv_lora 512, rope 64, nope 128, v 128: the same 576/512 MLA
//    cache rows), narrower embedding, fewer layers and experts, 8 of them used per token plus
//    one shared. Then loads it, times prompt processing and greedy decoding, and reports the
//    weight bytes each decoded token reads (memory_by_part) and the resulting GB/s.
// 2. Prints the same per-token arithmetic for the real 671B shape under the weight recipes of
//    the files people run (Ollama's Q4_K_M, unsloth's dynamic UD-Q2_K_XL and UD-IQ1_S), with
//    decode estimates for typical memory bandwidths.
//
//   deepseek2_bench [--dir DIR] [--type Q8_0] [--layers 6] [--experts 64] [--threads 2]
//                   [--prompt 64] [--gen 32] [--estimate-only]
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "r1/engine/context.h"
#include "r1/engine/memory_parts.h"
#include "r1/engine/model.h"
#include "r1/gguf/file.h"
#include "r1/gguf/model_files.h"
#include "r1/gguf/model_params.h"
#include "r1/mkmodel/make_model.h"

namespace {

using namespace r1;
using clock_type = std::chrono::steady_clock;

// CPU seconds of the whole process (all threads): on a shared machine the honest measure of
// the work, where wall time mostly measures the other jobs.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

struct options {
  std::string dir = "/tmp/r1-deepseek2-bench";
  std::string type = "Q8_0";
  uint32_t layers = 6;
  uint32_t experts = 64;
  int threads = 2;
  int prompt = 64;
  int gen = 32;
  bool estimate_only = false;
};

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--estimate-only") {
      o.estimate_only = true;
      continue;
    }
    if ((v = next()) == nullptr) return false;
    if (a == "--dir") o.dir = v;
    else if (a == "--type") o.type = v;
    else if (a == "--layers") o.layers = static_cast<uint32_t>(std::atoi(v));
    else if (a == "--experts") o.experts = static_cast<uint32_t>(std::atoi(v));
    else if (a == "--threads") o.threads = std::atoi(v);
    else if (a == "--prompt") o.prompt = std::atoi(v);
    else if (a == "--gen") o.gen = std::atoi(v);
    else return false;
  }
  return true;
}

double gb(uint64_t b) { return static_cast<double>(b) / 1e9; }

int run_scaled(const options& o) {
  auto p = mkmodel::preset("deepseek2", "671b");
  if (!p.ok()) return 1;
  mkmodel::model_spec s = *p;
  s.name = "r1-shaped-bench";
  s.n_layer = o.layers;
  s.n_dense_lead = 1;
  s.n_embd = 2048;
  s.n_head = 16;
  s.n_head_kv = 16;
  s.q_lora_rank = 512;
  s.n_ff = 5120;
  s.n_ff_exp = 512;
  s.n_expert = o.experts;
  s.n_vocab = 32000;
  s.n_ctx = 4096;
  s.type = o.type;
  s.n_split = 2;
  std::filesystem::create_directories(o.dir);
  const std::string path = o.dir + "/r1-shaped-" + o.type + ".gguf";
  auto t0 = clock_type::now();
  auto files = mkmodel::write_model(s, path);
  if (!files.ok()) {
    std::fprintf(stderr, "write: %s\n", files.error().to_string().c_str());
    return 1;
  }
  const double write_s = seconds_since(t0);
  t0 = clock_type::now();
  auto m = engine::model::load({files->front()});
  if (!m.ok()) {
    std::fprintf(stderr, "load: %s\n", m.error().to_string().c_str());
    return 1;
  }
  const double load_s = seconds_since(t0);
  auto mf = gguf::model_files::open(files->front());
  auto mm = engine::memory_by_part(*mf);
  if (!mm.ok()) return 1;
  const auto& hp = (*m)->hparams();
  auto ctx = engine::context::create(**m, {.n_ctx = 1024, .n_seq = 1, .kv_type = tensor_type::f16,
                                           .n_threads = o.threads, .n_batch = 512});
  if (!ctx.ok()) return 1;
  std::vector<int32_t> prompt(static_cast<size_t>(o.prompt));
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>((i * 7919 + 13) % hp.n_vocab);
  std::vector<float> logits;
  // Warm the page cache and the buffers once, then time.
  (void)(*ctx)->decode(0, std::span(prompt).first(4), 0, engine::logits_mode::last, logits);
  t0 = clock_type::now();
  double c0 = cpu_seconds();
  if (!(*ctx)->decode(0, prompt, 0, engine::logits_mode::last, logits).ok()) return 1;
  const double pp_s = seconds_since(t0), pp_cpu = cpu_seconds() - c0;
  t0 = clock_type::now();
  c0 = cpu_seconds();
  int32_t pos = static_cast<int32_t>(prompt.size());
  for (int i = 0; i < o.gen; ++i, ++pos) {
    int32_t best = 0;
    for (int32_t v = 1; v < static_cast<int32_t>(hp.n_vocab); ++v) best = logits[static_cast<size_t>(v)] > logits[static_cast<size_t>(best)] ? v : best;
    const int32_t tok[1] = {best};
    if (!(*ctx)->decode(0, tok, pos, engine::logits_mode::last, logits).ok()) return 1;
  }
  const double tg_s = seconds_since(t0), tg_cpu = cpu_seconds() - c0;
  const uint64_t per_tok = mm->bytes_per_token(hp.n_expert_used);
  const double tg = o.gen / tg_s;
  std::printf("### Scaled R1-shaped model\n\n");
  std::printf("shape: %u layers (1 dense), n_embd %u, %u heads, q_lora %u, kv_lora %u, rope %u, nope %u, v %u, "
              "%u experts of %u (%u used + %u shared), vocab %u, %s, 2 shards\n\n",
              hp.n_layer, hp.n_embd, hp.n_head, hp.n_lora_q, hp.n_lora_kv, hp.rope.n_rot,
              hp.head_dim_k_mla - hp.rope.n_rot, hp.head_dim_v_mla, hp.n_expert, hp.n_ff_exp, hp.n_expert_used,
              hp.n_expert_shared, hp.n_vocab, o.type.c_str());
  std::printf("| measure | value |\n|---|---|\n");
  std::printf("| weights on disk | %.2f GB (experts %.2f GB) |\n", gb(mm->total()), gb(mm->experts()));
  std::printf("| weight bytes read per decoded token | %.1f MB (%.1f%% of the model) |\n", per_tok / 1e6,
              100.0 * static_cast<double>(per_tok) / static_cast<double>(mm->total()));
  std::printf("| KV cache per token | %llu B |\n", static_cast<unsigned long long>((*ctx)->kv().bytes_per_token()));
  std::printf("| write / load | %.1f s / %.2f s |\n", write_s, load_s);
  std::printf("| prompt (%d tokens, %d threads) | %.1f tokens/s wall, %.1f tokens per CPU-second |\n", o.prompt,
              o.threads, o.prompt / pp_s, o.prompt / pp_cpu);
  std::printf("| decode (%d tokens) | %.2f tokens/s wall = %.1f GB/s; %.2f tokens per CPU-second = %.1f GB/s per core |\n\n",
              o.gen, tg, tg * static_cast<double>(per_tok) / 1e9, o.gen / tg_cpu,
              o.gen / tg_cpu * static_cast<double>(per_tok) / 1e9);
  return 0;
}

// ---- the 671B estimate ----

struct recipe {
  const char* name;
  tensor_type experts, down_exps, attention, mla_small, dense, shared, embd, output;
  double published_gb;  // size of the published files, for comparison
};

tensor_type type_for(const recipe& r, const std::string& name) {
  auto has = [&](const char* s) { return name.find(s) != std::string::npos; };
  if (name == "token_embd.weight") return r.embd;
  if (name == "output.weight") return r.output;
  if (has("_norm") || has("ffn_gate_inp") || has("exp_probs_b") || name == "output_norm.weight") return tensor_type::f32;
  if (has("ffn_down_exps")) return r.down_exps;
  if (has("_exps")) return r.experts;
  if (has("_shexp")) return r.shared;
  if (has("attn_k_b") || has("attn_v_b") || has("attn_q_a") || has("attn_q_b") || has("attn_kv_a_mqa") ||
      has("attn_kv_b"))
    return r.mla_small;
  if (has("attn_")) return r.attention;
  return r.dense;
}

int run_estimate() {
  auto p = mkmodel::preset("deepseek2", "671b");
  auto w = mkmodel::build_metadata(*p);
  if (!w.ok()) return 1;
  auto bytes = w->to_bytes();
  if (!bytes.ok()) return 1;
  auto meta = gguf::file::open_memory(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()), "671b");
  if (!meta.ok()) return 1;
  auto params = gguf::resolve_params(*meta);
  if (!params.ok()) return 1;
  auto specs = gguf::expected_tensors(*params);
  if (!specs.ok()) return 1;
  using tt = tensor_type;
  const recipe recipes[] = {
      {"Q4_K_M (Ollama deepseek-r1:671b)", tt::q4_k, tt::q6_k, tt::q4_k, tt::q8_0, tt::q4_k, tt::q4_k, tt::q4_k, tt::q6_k, 404},
      {"UD-Q2_K_XL", tt::q2_k, tt::q3_k, tt::q4_k, tt::q6_k, tt::q4_k, tt::q4_k, tt::q4_k, tt::q6_k, 212},
      {"UD-IQ1_M", tt::iq1_m, tt::iq2_xxs, tt::q4_k, tt::q6_k, tt::q4_k, tt::q4_k, tt::q4_k, tt::q6_k, 158},
      {"UD-IQ1_S", tt::iq1_s, tt::iq2_xxs, tt::q4_k, tt::q6_k, tt::q4_k, tt::q4_k, tt::q4_k, tt::q6_k, 131},
  };
  std::printf("### DeepSeek-R1 671B: bytes per token (estimate from the tensor table)\n\n");
  std::printf("61 layers (3 dense), 256 routed experts of 2048 per MoE layer, 8 used + 1 shared; attention and "
              "dense parts at the recipe's types, routers and norms F32. Decode speed if all weights sit in RAM = "
              "bandwidth / bytes per token (upper bound; llama.cpp reaches 60-80%% of it).\n\n");
  std::printf("| recipe | total GB (published) | experts GB | read per token GB | always-read GB | "
              "tok/s @ 60 GB/s (desktop DDR5) | @ 300 GB/s (8-ch server) |\n|---|---|---|---|---|---|---|\n");
  for (const recipe& r : recipes) {
    std::vector<engine::tensor_bytes> ts;
    for (const auto& sp : *specs) {
      if (!sp.required && sp.name.find("exp_probs_b") == std::string::npos) continue;
      const tensor_type t = type_for(r, sp.name);
      const auto& info = type_info(t);
      uint64_t n = 1;
      for (uint64_t d : sp.ne) n *= d;
      // Rows that are not whole blocks fall back to Q8_0 (llama.cpp's rule for K/IQ types).
      const auto& use = sp.ne[0] % info.block_elems == 0 ? info : type_info(tt::q8_0);
      ts.push_back({sp.name, n / use.block_elems * use.block_bytes, sp.ne.size() > 1 ? sp.ne[1] : 1,
                    sp.ne.size() > 2 ? static_cast<uint32_t>(sp.ne[2]) : 1u});
    }
    auto mm = engine::memory_by_part(ts);
    if (!mm.ok()) return 1;
    uint64_t always = mm->embedding_row + mm->output;
    for (const auto& l : mm->layers) always += l.always();
    const uint64_t per = mm->bytes_per_token(8);
    std::printf("| %s | %.0f (%.0f) | %.0f | %.1f | %.1f | %.1f | %.1f |\n", r.name, gb(mm->total()), r.published_gb,
                gb(mm->experts()), gb(per), gb(always), 60.0 / gb(per), 300.0 / gb(per));
  }
  // The engine keeps one latent row (kv_lora + rope) per token and layer for MLA-split files.
  const uint64_t mla = uint64_t{params->n_layer} * (params->n_lora_kv + params->n_rot) * 2;
  const uint64_t legacy = uint64_t{params->n_layer} * params->n_head[0] * (192 + 128) * 2;
  std::printf("\nKV cache (F16): MLA-split files %llu B per token, legacy files %llu B per token.\n\n",
              static_cast<unsigned long long>(mla), static_cast<unsigned long long>(legacy));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr, "usage: %s [--dir DIR] [--type T] [--layers N] [--experts N] [--threads N] [--prompt N] "
                 "[--gen N] [--estimate-only]\n", argv[0]);
    return 2;
  }
  if (run_estimate() != 0) return 1;
  if (o.estimate_only) return 0;
  return run_scaled(o);
}
