#include "commands.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include "prompt_builder.h"
#include "protocol_convert.h"
#include "r1/engine/context.h"
#include "r1/engine/model.h"
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

}  // namespace

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

int run_list_devices() {
  const kernels::cpu_features& f = kernels::detect_cpu_features();
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  rp::json dev = {{"backend", "cpu"},
                  {"name", "cpu"},
                  {"kernel_path", kernels::kernel_path_name()},
                  {"physical_cores", f.physical_cores},
                  {"logical_cpus", f.logical_cpus},
                  {"memory_bytes", static_cast<uint64_t>(pages) * static_cast<uint64_t>(page)}};
  print_json({{"devices", rp::json::array({dev})}});
  return 0;
}

namespace {

struct bench_result {
  double mean = 0, sd = 0;
};

bench_result mean_sd(const std::vector<double>& v) {
  bench_result r;
  for (double x : v) r.mean += x;
  r.mean /= static_cast<double>(v.size());
  for (double x : v) r.sd += (x - r.mean) * (x - r.mean);
  r.sd = v.size() > 1 ? std::sqrt(r.sd / static_cast<double>(v.size() - 1)) : 0;
  return r;
}

}  // namespace

// pp: one prompt of n_prompt random tokens in n_batch chunks; tg: n_gen single-token steps
// from an empty cache, as llama-bench measures them.
int run_bench(const bench_options& o) {
  auto kv = parse_kv_type(o.kv_type);
  if (!kv.ok()) return fail(kv.error());
  auto m = engine::model::load({o.model});
  if (!m.ok()) return fail(m.error());
  engine::context_params cp;
  cp.n_ctx = std::max(o.n_prompt, o.n_gen) + 1;
  cp.kv_type = *kv;
  cp.n_threads = o.threads;
  auto ctx = engine::context::create(**m, cp);
  if (!ctx.ok()) return fail(ctx.error());
  std::mt19937 rng(42);
  std::uniform_int_distribution<int32_t> d(0, static_cast<int32_t>((*m)->hparams().n_vocab) - 1);
  std::vector<float> logits;
  std::vector<double> pp, tg;
  // Warm-up (as llama-bench): the first pass faults the mapped weights in.
  {
    const int32_t tok[2] = {d(rng), d(rng)};
    status s = (*ctx)->decode(0, tok, 0, engine::logits_mode::last, logits);
    if (!s.ok()) return fail(s);
  }
  for (int r = 0; r < std::max(1, o.repetitions); ++r) {
    if (o.n_prompt > 0) {
      std::vector<int32_t> prompt(static_cast<size_t>(o.n_prompt));
      for (auto& t : prompt) t = d(rng);
      const auto t0 = std::chrono::steady_clock::now();
      status s = (*ctx)->decode(0, prompt, 0, engine::logits_mode::last, logits);
      if (!s.ok()) return fail(s);
      pp.push_back(o.n_prompt / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    if (o.n_gen > 0) {
      const auto t0 = std::chrono::steady_clock::now();
      for (int32_t i = 0; i < o.n_gen; ++i) {
        const int32_t tok[1] = {d(rng)};
        status s = (*ctx)->decode(0, tok, i, engine::logits_mode::last, logits);
        if (!s.ok()) return fail(s);
      }
      tg.push_back(o.n_gen / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  rp::json out = {{"model", o.model},
                  {"architecture", (*m)->hparams().architecture},
                  {"file_type", (*m)->info().file_type},
                  {"threads", (*ctx)->n_threads()},
                  {"kernel_path", kernels::kernel_path_name()},
                  {"kv_type", o.kv_type}};
  if (!pp.empty()) {
    const bench_result r = mean_sd(pp);
    out["pp" + std::to_string(o.n_prompt)] = {{"tokens_per_s", r.mean}, {"sd", r.sd}};
  }
  if (!tg.empty()) {
    const bench_result r = mean_sd(tg);
    out["tg" + std::to_string(o.n_gen)] = {{"tokens_per_s", r.mean}, {"sd", r.sd}};
  }
  print_json(out);
  return 0;
}

}  // namespace r1::runner
