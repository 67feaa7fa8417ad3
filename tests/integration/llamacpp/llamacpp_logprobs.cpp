// A small program against llama.cpp's public C API (llama.h), built outside the repository by
// scripts/llamacpp-build.sh, never by CMake: it loads a GGUF model, evaluates a token sequence
// in one batch with logits for every position (teacher forcing) and prints, as JSON, the top-k
// log-probabilities of each position.
//
//   r1-llamacpp-logprobs MODEL KV_TYPE THREADS TOP_K TOKEN,TOKEN,...
//   KV_TYPE: f32 | f16 | q8_0 (K and V cache type).
//   R1_LLAMACPP_UBATCH=N (environment) sets the physical batch size.
//   R1_LLAMACPP_FA=0|1 (environment): flash attention off (the default) or on. llama.cpp's
//   CPU flash attention is not exact float math: on a one-layer F32 model with an F32 cache it
//   moves log-probs by ~5e-4 even at position 0, against ~6e-7 without it; r1's attention is
//   compared with the exact path.
//
// Output: {"n_vocab": N, "positions": [[[id, logprob], ...], ...]} on stdout.
#include <llama.h>
#include <ggml-backend.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

namespace {

std::vector<llama_token> parse_tokens(const char* s) {
  std::vector<llama_token> out;
  std::string cur;
  for (const char* p = s;; ++p) {
    if (*p == ',' || *p == '\0') {
      if (!cur.empty()) out.push_back(static_cast<llama_token>(std::stol(cur)));
      cur.clear();
      if (*p == '\0') break;
    } else {
      cur.push_back(*p);
    }
  }
  return out;
}

bool parse_kv_type(const char* s, ggml_type* out) {
  if (std::strcmp(s, "f32") == 0) *out = GGML_TYPE_F32;
  else if (std::strcmp(s, "f16") == 0) *out = GGML_TYPE_F16;
  else if (std::strcmp(s, "q8_0") == 0) *out = GGML_TYPE_Q8_0;
  else return false;
  return true;
}

void quiet_log(ggml_log_level level, const char* text, void*) {
  if (level >= GGML_LOG_LEVEL_ERROR) std::fputs(text, stderr);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s MODEL f32|f16|q8_0 THREADS TOP_K TOKENS\n", argv[0]);
    return 2;
  }
  ggml_type kv_type;
  if (!parse_kv_type(argv[2], &kv_type)) {
    std::fprintf(stderr, "unknown kv type %s\n", argv[2]);
    return 2;
  }
  const int threads = std::atoi(argv[3]);
  const int top_k = std::atoi(argv[4]);
  const std::vector<llama_token> tokens = parse_tokens(argv[5]);
  if (tokens.empty()) {
    std::fprintf(stderr, "no tokens\n");
    return 2;
  }
  llama_log_set(quiet_log, nullptr);
  const char* backends = std::getenv("R1_LLAMACPP_BACKENDS");
  if (backends != nullptr && *backends != 0) {
    ggml_backend_load_all_from_path(backends);
  } else {
    ggml_backend_load_all();
  }
  llama_backend_init();

  llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = 0;
  llama_model* model = llama_model_load_from_file(argv[1], mp);
  if (model == nullptr) {
    std::fprintf(stderr, "cannot load %s\n", argv[1]);
    return 1;
  }
  const int n = static_cast<int>(tokens.size());
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = static_cast<uint32_t>(std::max(n, 64));
  cp.n_batch = static_cast<uint32_t>(std::max(n, 64));
  cp.n_ubatch = cp.n_batch;
  // R1_LLAMACPP_UBATCH: physical batch size (1 evaluates token by token), to measure how much
  // llama.cpp's own logits move with the batch shape.
  if (const char* ub = std::getenv("R1_LLAMACPP_UBATCH")) cp.n_ubatch = static_cast<uint32_t>(std::max(1, std::atoi(ub)));
  cp.n_seq_max = 1;
  cp.n_threads = threads;
  cp.n_threads_batch = threads;
  cp.type_k = kv_type;
  cp.type_v = kv_type;
  const char* fa = std::getenv("R1_LLAMACPP_FA");
  cp.flash_attn_type = fa != nullptr && std::strcmp(fa, "1") == 0 ? LLAMA_FLASH_ATTN_TYPE_ENABLED
                                                                   : LLAMA_FLASH_ATTN_TYPE_DISABLED;
  cp.no_perf = true;
  llama_context* ctx = llama_init_from_model(model, cp);
  if (ctx == nullptr) {
    std::fprintf(stderr, "cannot create a context\n");
    return 1;
  }
  llama_batch batch = llama_batch_init(n, 0, 1);
  for (int i = 0; i < n; ++i) {
    batch.token[i] = tokens[static_cast<size_t>(i)];
    batch.pos[i] = i;
    batch.n_seq_id[i] = 1;
    batch.seq_id[i][0] = 0;
    batch.logits[i] = 1;
  }
  batch.n_tokens = n;
  if (llama_decode(ctx, batch) != 0) {
    std::fprintf(stderr, "llama_decode failed\n");
    return 1;
  }
  const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
  std::printf("{\"n_vocab\": %d, \"positions\": [", n_vocab);
  std::vector<int> idx(static_cast<size_t>(n_vocab));
  for (int i = 0; i < n; ++i) {
    const float* l = llama_get_logits_ith(ctx, i);
    double mx = l[0];
    for (int j = 1; j < n_vocab; ++j) mx = std::max(mx, static_cast<double>(l[j]));
    double sum = 0;
    for (int j = 0; j < n_vocab; ++j) sum += std::exp(static_cast<double>(l[j]) - mx);
    const double lse = mx + std::log(sum);
    std::iota(idx.begin(), idx.end(), 0);
    const int k = std::min(top_k, n_vocab);
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int a, int b) {
      return l[a] != l[b] ? l[a] > l[b] : a < b;
    });
    std::printf("%s[", i ? ", " : "");
    for (int j = 0; j < k; ++j) {
      std::printf("%s[%d, %.9g]", j ? ", " : "", idx[static_cast<size_t>(j)], l[idx[static_cast<size_t>(j)]] - lse);
    }
    std::printf("]");
  }
  std::printf("]}\n");
  llama_batch_free(batch);
  llama_free(ctx);
  llama_model_free(model);
  llama_backend_free();
  return 0;
}
