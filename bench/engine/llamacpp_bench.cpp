// The llama.cpp side of bench/engine/compare.sh: prompt (pp) and generation (tg) speed measured
// the way llama-bench measures them, written against llama.cpp's public C API (llama.h). Built
// outside the repository by scripts/llamacpp-build.sh (never by CMake).
//
//   r1-llamacpp-bench -m MODEL [-p 512] [-n 128] [-d 0] [-t THREADS] [-r REPS] [--kv f16|f32|q8_0]
//                     [--fa on|off|auto] [-ub UBATCH]
//
// Each test runs once unmeasured (warm-up: faults the mapped weights in), then REPS times from a
// KV cache holding DEPTH random tokens (as llama-bench -d: filled before each test, untimed). pp: one prompt of P random tokens decoded in batches of 2048 (physical batch
// UBATCH, default 512); tg: N single-token decodes. Output: one JSON line
//   {"pp512": {"tokens_per_s": m, "sd": s, "runs": [...]}, "tg128": {...}, "threads": t, ...}
#include <llama.h>
#include <ggml-backend.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

namespace {

struct options {
  std::string model;
  int n_prompt = 512;
  int n_gen = 128;
  int n_depth = 0;
  int threads = 2;
  int reps = 3;
  int ubatch = 512;
  ggml_type kv = GGML_TYPE_F16;
  llama_flash_attn_type fa = LLAMA_FLASH_ATTN_TYPE_AUTO;
};

bool parse_args(int argc, char** argv, options* o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return false;
    const char* v = argv[++i];
    if (a == "-m") o->model = v;
    else if (a == "-p") o->n_prompt = std::atoi(v);
    else if (a == "-n") o->n_gen = std::atoi(v);
    else if (a == "-d") o->n_depth = std::atoi(v);
    else if (a == "-t") o->threads = std::atoi(v);
    else if (a == "-r") o->reps = std::atoi(v);
    else if (a == "-ub") o->ubatch = std::atoi(v);
    else if (a == "--kv") {
      if (std::strcmp(v, "f16") == 0) o->kv = GGML_TYPE_F16;
      else if (std::strcmp(v, "f32") == 0) o->kv = GGML_TYPE_F32;
      else if (std::strcmp(v, "q8_0") == 0) o->kv = GGML_TYPE_Q8_0;
      else return false;
    } else if (a == "--fa") {
      if (std::strcmp(v, "on") == 0) o->fa = LLAMA_FLASH_ATTN_TYPE_ENABLED;
      else if (std::strcmp(v, "off") == 0) o->fa = LLAMA_FLASH_ATTN_TYPE_DISABLED;
      else if (std::strcmp(v, "auto") == 0) o->fa = LLAMA_FLASH_ATTN_TYPE_AUTO;
      else return false;
    } else {
      return false;
    }
  }
  return !o->model.empty() && o->threads > 0 && o->reps > 0 && o->ubatch > 0 && o->n_depth >= 0;
}

void quiet_log(ggml_log_level level, const char* text, void*) {
  if (level >= GGML_LOG_LEVEL_ERROR) std::fputs(text, stderr);
}

// Wall and process CPU clocks: on a shared machine the CPU seconds (all threads) are the steadier
// measure of work done, the wall seconds the one users see.
struct stamp {
  std::chrono::steady_clock::time_point wall = std::chrono::steady_clock::now();
  double cpu = cpu_seconds();
  static double cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  }
};

struct rates {
  std::vector<double> wall, cpu;
  void add(int n, const stamp& t0) {
    const stamp t1;
    wall.push_back(n / std::chrono::duration<double>(t1.wall - t0.wall).count());
    cpu.push_back(n / std::max(1e-9, t1.cpu - t0.cpu));
  }
};

// One prompt of n random tokens in batches of at most 2048 (llama-bench's default n_batch).
bool run_prompt(llama_context* ctx, int n, int n_vocab, std::mt19937& rng) {
  std::uniform_int_distribution<int> d(0, n_vocab - 1);
  std::vector<llama_token> toks;
  for (int done = 0; done < n;) {
    const int m = std::min(n - done, 2048);
    toks.resize(static_cast<size_t>(m));
    for (auto& t : toks) t = d(rng);
    if (llama_decode(ctx, llama_batch_get_one(toks.data(), m)) != 0) return false;
    done += m;
  }
  llama_synchronize(ctx);
  return true;
}

bool run_gen(llama_context* ctx, int n, int n_vocab, std::mt19937& rng) {
  std::uniform_int_distribution<int> d(0, n_vocab - 1);
  llama_token t = d(rng);
  for (int i = 0; i < n; ++i) {
    if (llama_decode(ctx, llama_batch_get_one(&t, 1)) != 0) return false;
    llama_synchronize(ctx);
    t = d(rng);
  }
  return true;
}

double mean_of(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m += x;
  return m / static_cast<double>(v.size());
}

void print_result(const char* name, int n, const rates& r, bool first) {
  const double mean = mean_of(r.wall);
  double sd = 0;
  for (double x : r.wall) sd += (x - mean) * (x - mean);
  sd = r.wall.size() > 1 ? std::sqrt(sd / static_cast<double>(r.wall.size() - 1)) : 0.0;
  std::printf("%s\"%s%d\": {\"tokens_per_s\": %.4f, \"sd\": %.4f, \"tokens_per_cpu_s\": %.4f, \"runs\": [",
              first ? "" : ", ", name, n, mean, sd, mean_of(r.cpu));
  for (size_t i = 0; i < r.wall.size(); ++i) std::printf("%s%.4f", i ? ", " : "", r.wall[i]);
  std::printf("]}");
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse_args(argc, argv, &o)) {
    std::fprintf(stderr,
                 "usage: %s -m MODEL [-p 512] [-n 128] [-d 0] [-t 2] [-r 3] [--kv f16|f32|q8_0] [--fa on|off|auto] "
                 "[-ub 512]\n",
                 argv[0]);
    return 2;
  }
  llama_log_set(quiet_log, nullptr);
  const char* backends = std::getenv("R1_LLAMACPP_BACKENDS");
  if (backends != nullptr && *backends != 0) ggml_backend_load_all_from_path(backends);
  else ggml_backend_load_all();
  llama_backend_init();

  llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = 0;
  mp.progress_callback = [](float, void*) { return true; };  // no progress dots
  llama_model* model = llama_model_load_from_file(o.model.c_str(), mp);
  if (model == nullptr) {
    std::fprintf(stderr, "cannot load %s\n", o.model.c_str());
    return 1;
  }
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = static_cast<uint32_t>(std::max(o.n_depth + o.n_prompt + o.n_gen, 64));
  cp.n_batch = 2048;
  cp.n_ubatch = static_cast<uint32_t>(o.ubatch);
  cp.n_seq_max = 1;
  cp.n_threads = o.threads;
  cp.n_threads_batch = o.threads;
  cp.type_k = o.kv;
  cp.type_v = o.kv;
  cp.flash_attn_type = o.fa;
  cp.no_perf = true;
  llama_context* ctx = llama_init_from_model(model, cp);
  if (ctx == nullptr) {
    std::fprintf(stderr, "cannot create a context\n");
    return 1;
  }
  const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
  llama_memory_t mem = llama_get_memory(ctx);
  std::mt19937 rng(42);
  rates pp, tg;
  bool ok = true;
  // Warm-up, as llama-bench: one prompt batch and one generated token.
  if (o.n_prompt > 0) ok = ok && run_prompt(ctx, std::min(o.n_prompt, 512), n_vocab, rng);
  if (o.n_gen > 0) ok = ok && run_gen(ctx, 1, n_vocab, rng);
  for (int r = 0; ok && r < o.reps; ++r) {
    if (o.n_prompt > 0) {
      llama_memory_clear(mem, true);
      ok = o.n_depth == 0 || run_prompt(ctx, o.n_depth, n_vocab, rng);
      const stamp t0;
      ok = ok && run_prompt(ctx, o.n_prompt, n_vocab, rng);
      pp.add(o.n_prompt, t0);
    }
    if (ok && o.n_gen > 0) {
      llama_memory_clear(mem, true);
      ok = o.n_depth == 0 || run_prompt(ctx, o.n_depth, n_vocab, rng);
      const stamp t0;
      ok = ok && run_gen(ctx, o.n_gen, n_vocab, rng);
      tg.add(o.n_gen, t0);
    }
  }
  if (!ok) {
    std::fprintf(stderr, "llama_decode failed\n");
    return 1;
  }
  char desc[256];
  llama_model_desc(model, desc, sizeof(desc));
  std::printf("{\"engine\": \"llama.cpp\", \"model_desc\": \"%s\", \"model_bytes\": %llu, \"threads\": %d, ", desc,
              static_cast<unsigned long long>(llama_model_size(model)), o.threads);
  bool first = true;
  if (!pp.wall.empty()) {
    print_result("pp", o.n_prompt, pp, first);
    first = false;
  }
  if (!tg.wall.empty()) print_result("tg", o.n_gen, tg, first);
  std::printf("}\n");
  llama_free(ctx);
  llama_model_free(model);
  llama_backend_free();
  return 0;
}
