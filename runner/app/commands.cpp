#include "commands.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

#include "gpu_setup.h"
#include "prompt_builder.h"
#include "r1/base/config.h"
#include "protocol_convert.h"
#include "r1/engine/context.h"
#include "r1/engine/model.h"
#include "r1/gguf/file.h"
#include "r1/kernels/bandwidth.h"
#include "r1/kernels/cpu_features.h"
#include "r1/runner_protocol/messages.h"

namespace r1::runner {

namespace rp = runner_protocol;

namespace {

int fail(const status& s) {
  std::fprintf(stderr, "r1-runner: %s\n", s.to_string().c_str());
  return 1;
}

void print_json(const rp::json& j) { std::printf("%s\n", dump_json(j).c_str()); }

// A "Vm...:" line of /proc/self/status in bytes (0 when unreadable).
uint64_t proc_status_bytes(const char* key) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  uint64_t kb = 0;
  const size_t kl = std::strlen(key);
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, key, kl) == 0) kb = std::strtoull(line + kl, nullptr, 10);
  }
  std::fclose(f);
  return kb * 1024;
}

}  // namespace

result<engine::repack_options> make_repack_options(const std::string& mode, const std::string& budget,
                                                   const std::string& huge_pages, int threads) {
  engine::repack_options r;
  R1_ASSIGN_OR_RETURN(r.mode, engine::parse_repack_mode(mode));
  if (huge_pages != "on" && huge_pages != "off")
    return invalid_argument("huge pages '" + huge_pages + "' is not one of on, off");
  r.huge_pages = huge_pages == "on";
  if (!budget.empty()) {
    R1_ASSIGN_OR_RETURN(r.budget_bytes, parse_byte_size(budget));
  }
  r.n_threads = threads;
  return r;
}

int run_tokenize(const tokenize_options& o) {
  auto m = engine::model::load({o.model});
  if (!m.ok()) return fail(m.error());
  const engine::tokenizer& tok = (*m)->tok();
  engine::encode_options eo;
  eo.add_special = !o.no_special;
  eo.parse_special = !o.no_special;
  const std::vector<int32_t> ids = tok.encode(o.text, eo);
  rp::json pieces = rp::json::array();
  for (int32_t id : ids) pieces.push_back(tok.token_piece(id, true));
  print_json({{"tokens", ids}, {"pieces", pieces}});
  return 0;
}

int run_render(const render_options& o) {
  auto j = rp::parse_json(o.messages);
  if (!j.ok()) return fail(j.error().with_context("--messages"));
  if (!j->is_array()) return fail(invalid_argument("--messages must be a JSON array of messages"));
  std::vector<rp::chat_message> messages;
  for (const auto& e : *j) {
    auto m = rp::chat_message_from_json(e);
    if (!m.ok()) return fail(m.error());
    messages.push_back(std::move(*m));
  }
  auto m = engine::model::load({o.model});
  if (!m.ok()) return fail(m.error());
  auto b = prompt_builder::create(**m);
  if (!b.ok()) return fail(b.error());
  auto text = (*b)->render(messages, !o.no_generation_prompt, nullptr, std::nullopt);
  if (!text.ok()) return fail(text.error());
  const std::vector<int32_t> ids = engine::encode_rendered_prompt(*text, (*m)->tok());
  print_json({{"prompt", *text}, {"tokens", ids}});
  return 0;
}

int run_list_devices(const serve_options& o) {
  std::printf("%s\n", kernels::list_devices_json(load_backends(o, 0)).c_str());
  return 0;
}

namespace {

struct bench_result {
  double mean = 0, sd = 0;
};

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Wall and process CPU time of one timed test. On a shared machine tokens per CPU-second (all
// threads) is the steadier measure of the work done; wall time is what users see.
struct bench_clock {
  std::chrono::steady_clock::time_point wall = std::chrono::steady_clock::now();
  double cpu = process_cpu_seconds();
  void add(int32_t n, std::vector<double>& wall_rates, std::vector<double>& cpu_rates) const {
    wall_rates.push_back(n / std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count());
    cpu_rates.push_back(n / std::max(1e-9, process_cpu_seconds() - cpu));
  }
};

// Weight bytes a decoded token reads in a dense model: every tensor but the token embedding
// (one row of it is read), unless the embedding doubles as the output head.
uint64_t dense_bytes_per_token(const engine::model& m) {
  uint64_t total = 0, embd = 0;
  bool has_output = false;
  for (const gguf::file* f : m.gguf_files()) {
    for (const auto& t : f->tensors()) {
      total += t.size;
      if (t.name == "token_embd.weight") embd = t.size;
      if (t.name == "output.weight") has_output = true;
    }
  }
  return has_output ? total - embd : total;
}

bench_result mean_sd(const std::vector<double>& v) {
  bench_result r;
  for (double x : v) r.mean += x;
  r.mean /= static_cast<double>(v.size());
  for (double x : v) r.sd += (x - r.mean) * (x - r.mean);
  r.sd = v.size() > 1 ? std::sqrt(r.sd / static_cast<double>(v.size() - 1)) : 0;
  return r;
}

// Rates of one test's runs, wall and per process CPU-second.
struct bench_rates {
  std::vector<double> wall, cpu;
  rp::json to_json() const {
    const bench_result w = mean_sd(wall);
    return {{"tokens_per_s", w.mean}, {"sd", w.sd}, {"tokens_per_cpu_s", mean_sd(cpu).mean}, {"runs", wall}};
  }
};

struct bench_runs {
  double first_ms = 0;  // the warm-up decode: the first token's latency after load
  bench_rates pp, tg;
};

// The warm-up, the depth fill and the timed tests on slot 0 of `ctx`.
status run_bench_tests(engine::context& ctx, const bench_options& o, int32_t n_vocab, bench_runs& out) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int32_t> d(0, n_vocab - 1);
  std::vector<float> logits;
  // Warm-up (as llama-bench): the first pass faults the mapped weights in.
  {
    const int32_t tok[2] = {d(rng), d(rng)};
    const auto t0 = std::chrono::steady_clock::now();
    R1_RETURN_IF_ERROR(ctx.decode(0, tok, 0, engine::logits_mode::last, logits));
    out.first_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
  // The cache holds n_depth random tokens before each test (filled once: every test writes
  // only past them).
  if (o.n_depth > 0) {
    std::vector<int32_t> context_tokens(static_cast<size_t>(o.n_depth));
    for (auto& t : context_tokens) t = d(rng);
    R1_RETURN_IF_ERROR(ctx.decode(0, context_tokens, 0, engine::logits_mode::none, logits));
  }
  for (int r = 0; r < std::max(1, o.repetitions); ++r) {
    if (o.n_prompt > 0) {
      std::vector<int32_t> prompt(static_cast<size_t>(o.n_prompt));
      for (auto& t : prompt) t = d(rng);
      const bench_clock t0;
      R1_RETURN_IF_ERROR(ctx.decode(0, prompt, o.n_depth, engine::logits_mode::last, logits));
      t0.add(o.n_prompt, out.pp.wall, out.pp.cpu);
    }
    if (o.n_gen > 0) {
      const bench_clock t0;
      for (int32_t i = 0; i < o.n_gen; ++i) {
        const int32_t tok[1] = {d(rng)};
        R1_RETURN_IF_ERROR(ctx.decode(0, tok, o.n_depth + i, engine::logits_mode::last, logits));
      }
      t0.add(o.n_gen, out.tg.wall, out.tg.cpu);
    }
  }
  return ok_status();
}

rp::json repack_json(const engine::repack_report& p) {
  return {{"mode", engine::repack_mode_name(p.mode)},
          {"matrices", p.repacked},
          {"of", p.eligible},
          {"bytes", p.bytes},
          {"of_bytes", p.eligible_bytes},
          {"budget_bytes", p.budget_bytes},
          {"released_bytes", p.released_bytes},
          {"huge_pages_bytes", p.huge_bytes},
          {"ms", p.ms}};
}

}  // namespace

// pp: one prompt of n_prompt random tokens in n_batch chunks; tg: n_gen single-token steps,
// each from a cache holding n_depth tokens, as llama-bench measures them.
int run_bench(const bench_options& o) {
  auto kv = parse_kv_type(o.kv_type);
  if (!kv.ok()) return fail(kv.error());
  if (status s = kernels::set_kernel_path(o.kernel_path); !s.ok()) return fail(s);
  auto repack = make_repack_options(o.repack, o.repack_budget, o.huge_pages, o.threads);
  if (!repack.ok()) return fail(repack.error());
  const auto t_load = std::chrono::steady_clock::now();
  auto m = engine::model::load(o.models);
  if (!m.ok()) return fail(m.error());
  auto packed = (*m)->repack_for_amx(*repack);
  if (!packed.ok()) return fail(packed.error());
  const double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_load).count();
  engine::context_params cp;
  cp.n_ctx = o.n_depth + std::max(o.n_prompt, o.n_gen) + 1;
  cp.kv_type = *kv;
  cp.n_threads = o.threads;
  cp.huge_pages = repack->huge_pages;
  auto ctx = engine::context::create(**m, cp);
  if (!ctx.ok()) return fail(ctx.error());
  bench_runs runs;
  if (status s = run_bench_tests(**ctx, o, static_cast<int32_t>((*m)->hparams().n_vocab), runs); !s.ok()) return fail(s);
  rp::json out = {{"model", o.models.front()},
                  {"architecture", (*m)->hparams().architecture},
                  {"file_type", (*m)->info().file_type},
                  {"threads", (*ctx)->n_threads()},
                  {"kernel_path", kernels::kernel_path_name()},
                  {"kv_type", o.kv_type},
                  {"depth", o.n_depth},
                  {"weights_bytes", (*m)->info().weights_bytes},
                  {"load_ms", load_ms},
                  {"first_decode_ms", runs.first_ms},
                  {"repack", repack_json(*packed)}};
  if ((*m)->hparams().n_expert == 0) {
    out["weight_bytes_per_token"] = dense_bytes_per_token(**m);
  }
  if (!runs.pp.wall.empty()) out["pp" + std::to_string(o.n_prompt)] = runs.pp.to_json();
  if (!runs.tg.wall.empty()) out["tg" + std::to_string(o.n_gen)] = runs.tg.to_json();
  if (o.bandwidth) {
    // The decode roofline, measured in the same process with as many threads.
    kernels::thread_pool bw_pool((*ctx)->n_threads());
    // 1 GiB, about a 1.5B model's token, in 8 passes: the best whole pass is the roofline.
    auto bw = kernels::measure_read_bandwidth(bw_pool, size_t{1} << 30, 8);
    if (!bw.ok()) return fail(bw.error());
    out["read_bandwidth_gbs"] = {{"pass", bw->pass_gbs}, {"p90", bw->p90_gbs}, {"median", bw->median_gbs}};
  }
  out["rss_bytes"] = proc_status_bytes("VmRSS:");
  out["peak_rss_bytes"] = proc_status_bytes("VmHWM:");
  print_json(out);
  return 0;
}

}  // namespace r1::runner
