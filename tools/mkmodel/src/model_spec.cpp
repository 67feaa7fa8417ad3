#include "r1/mkmodel/model_spec.h"

#include <array>

namespace r1::mkmodel {
namespace {

struct shape {
  std::string_view arch, name;
  uint32_t n_layer, n_embd, n_head, n_head_kv, n_ff, n_vocab, head_dim;
  float rope_base, rms_eps;
};

// Shapes of the models r1 serves (from their published configs).
constexpr std::array<shape, 7> k_shapes{{
    {"qwen2", "1.5b", 28, 1536, 12, 2, 8960, 151936, 0, 10000.0f, 1e-6f},
    {"qwen2", "7b", 28, 3584, 28, 4, 18944, 152064, 0, 10000.0f, 1e-6f},
    {"qwen2", "14b", 48, 5120, 40, 8, 13824, 152064, 0, 1e6f, 1e-5f},
    {"qwen2", "32b", 64, 5120, 40, 8, 27648, 152064, 0, 1e6f, 1e-5f},
    {"llama", "8b", 32, 4096, 32, 8, 14336, 128256, 128, 500000.0f, 1e-5f},
    {"llama", "70b", 80, 8192, 64, 8, 28672, 128256, 128, 500000.0f, 1e-5f},
    {"qwen3", "8b", 36, 4096, 32, 8, 12288, 151936, 128, 1e6f, 1e-6f},
}};

model_spec tiny(std::string_view arch) {
  model_spec s;
  s.arch = std::string(arch);
  if (arch == "llama") {
    s.rope_base = 500000.0f;
    s.rms_eps = 1e-5f;
    s.rope_freqs = true;
    s.qkv_bias = false;
  } else if (arch == "qwen3") {
    s.head_dim = 32;  // q width 128 != n_embd 64, as in real qwen3 shapes where key_length is explicit
    s.qkv_bias = false;
  } else if (arch == "deepseek2") {
    s.n_layer = 3;
    s.n_head = 4;
    s.n_head_kv = 4;
    s.qkv_bias = false;
    s.yarn_factor = 40.0f;
  }
  return s;
}

model_spec deepseek_671b() {
  model_spec s = tiny("deepseek2");
  s.n_layer = 61;
  s.n_embd = 7168;
  s.n_head = 128;
  s.n_head_kv = 128;
  s.n_ff = 18432;
  s.n_ctx = 163840;
  s.n_vocab = 129280;
  s.q_lora_rank = 1536;
  s.kv_lora_rank = 512;
  s.rope_dim = 64;
  s.nope_dim = 128;
  s.v_head_dim = 128;
  s.n_expert = 256;
  s.n_expert_used = 8;
  s.n_expert_shared = 1;
  s.n_ff_exp = 2048;
  s.n_dense_lead = 3;
  s.yarn_factor = 40.0f;
  s.yarn_orig_ctx = 4096;
  return s;
}

}  // namespace

std::vector<std::string_view> mkmodel_archs() { return {"qwen2", "llama", "qwen3", "deepseek2"}; }

std::vector<std::string_view> preset_names() { return {"tiny", "1.5b", "7b", "8b", "14b", "32b", "70b", "671b", "moe-small"}; }

result<model_spec> preset(std::string_view arch, std::string_view name) {
  bool arch_ok = arch.empty();
  for (std::string_view a : mkmodel_archs()) arch_ok = arch_ok || a == arch;
  if (!arch_ok) return invalid_argument("unknown architecture '" + std::string(arch) + "' (qwen2, llama, qwen3, deepseek2)");
  if (name == "tiny") return tiny(arch.empty() ? "qwen2" : arch);
  if (name == "671b" && (arch.empty() || arch == "deepseek2")) return deepseek_671b();
  if (name == "moe-small" && (arch.empty() || arch == "deepseek2")) {
    model_spec s = tiny("deepseek2");
    s.n_layer = 4;
    s.n_embd = 256;
    s.n_head = 8;
    s.n_head_kv = 8;
    s.n_ff = 512;
    s.q_lora_rank = 128;
    s.kv_lora_rank = 64;
    s.rope_dim = 32;
    s.nope_dim = 64;
    s.v_head_dim = 64;
    s.n_expert = 8;
    s.n_expert_used = 2;
    s.n_ff_exp = 128;
    return s;
  }
  for (const shape& sh : k_shapes) {
    if (sh.name != name) continue;
    if (!arch.empty() && sh.arch != arch) continue;
    model_spec s = tiny(sh.arch);
    s.n_layer = sh.n_layer;
    s.n_embd = sh.n_embd;
    s.n_head = sh.n_head;
    s.n_head_kv = sh.n_head_kv;
    s.n_ff = sh.n_ff;
    s.n_vocab = sh.n_vocab;
    s.head_dim = sh.head_dim;
    s.rope_base = sh.rope_base;
    s.rms_eps = sh.rms_eps;
    s.n_ctx = 131072;
    s.name = "r1-test-" + std::string(sh.arch) + "-" + std::string(sh.name);
    return s;
  }
  return invalid_argument("no preset '" + std::string(name) + "'" + (arch.empty() ? "" : " for " + std::string(arch)));
}

}  // namespace r1::mkmodel
