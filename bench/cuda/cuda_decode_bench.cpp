// Decode speed on a CUDA GPU with and without CUDA graphs, every layer and the head
// on device 0: pp (one prompt of P tokens from an empty cache) and tg (N single-token
// decodes after it), as llama-bench measures them. The two modes run interleaved,
// one repetition each in turn, in the same process, on the same GGUF file.
//
//   r1-cuda-decode-bench -m MODEL.gguf [-p 256] [-n 128] [-r 3] [--modes on,off]
//
// Output: one JSON object per mode and repetition on stdout, e.g.
//   {"graphs":true,"rep":0,"pp":256,"pp_tps":..,"tg":128,"tg_tps":..,"tg_ms_p50":..,
//    "graph_steps":..,"instantiations":..,"updates":..,"eager_steps":..,"fallbacks":..}
// Exit status 1 with a message on stderr when there is no CUDA device or the model
// cannot run there.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "r1/engine/context.h"
#include "r1/engine/model.h"
#include "r1/kernels/cuda_backend.h"

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
  std::string model;
  int n_prompt = 256, n_gen = 128, reps = 3, threads = 4;
  std::string modes = "on,off";
};

struct runner {
  bool graphs = true;
  std::unique_ptr<r1::kernels::backend> backend;
  std::unique_ptr<r1::engine::context> ctx;
};

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// Token ids spread over the vocabulary (what the tokens are does not change the work).
int32_t token_at(int i, uint32_t n_vocab) {
  return static_cast<int32_t>((1000003u * static_cast<uint32_t>(i) + 17u) % n_vocab);
}

r1::status one_rep(runner& r, const options& o, int rep, uint32_t n_vocab) {
  r1::engine::context& ctx = *r.ctx;
  const r1::kernels::cuda_graph_stats before = r1::kernels::graph_stats(r.backend->device_at(0));
  std::vector<int32_t> prompt(static_cast<size_t>(o.n_prompt));
  for (int i = 0; i < o.n_prompt; ++i) prompt[static_cast<size_t>(i)] = token_at(i, n_vocab);
  std::vector<float> logits;
  auto t0 = clock_type::now();
  R1_RETURN_IF_ERROR(ctx.decode(0, prompt, 0, r1::engine::logits_mode::last, logits));
  const double pp_s = seconds_since(t0);
  std::vector<double> step_ms;
  t0 = clock_type::now();
  for (int i = 0; i < o.n_gen; ++i) {
    const auto s0 = clock_type::now();
    const int32_t tok[1] = {token_at(o.n_prompt + i, n_vocab)};
    R1_RETURN_IF_ERROR(ctx.decode(0, tok, o.n_prompt + i, r1::engine::logits_mode::last, logits));
    step_ms.push_back(seconds_since(s0) * 1000.0);
  }
  const double tg_s = seconds_since(t0);
  std::sort(step_ms.begin(), step_ms.end());
  const r1::kernels::cuda_graph_stats after = r1::kernels::graph_stats(r.backend->device_at(0));
  std::printf(
      "{\"graphs\":%s,\"rep\":%d,\"pp\":%d,\"pp_tps\":%.2f,\"tg\":%d,\"tg_tps\":%.2f,\"tg_ms_p50\":%.3f,"
      "\"graph_steps\":%llu,\"instantiations\":%llu,\"updates\":%llu,\"eager_steps\":%llu,\"fallbacks\":%llu}"
      "\n",
      r.graphs ? "true" : "false", rep, o.n_prompt, o.n_prompt / pp_s, o.n_gen, o.n_gen / tg_s,
      step_ms.empty() ? 0.0 : step_ms[step_ms.size() / 2],
      static_cast<unsigned long long>(after.graph_steps - before.graph_steps),
      static_cast<unsigned long long>(after.instantiations - before.instantiations),
      static_cast<unsigned long long>(after.updates - before.updates),
      static_cast<unsigned long long>(after.eager_steps - before.eager_steps),
      static_cast<unsigned long long>(after.fallbacks - before.fallbacks));
  std::fflush(stdout);
  return r1::ok_status();
}

r1::status make_runner(const r1::engine::model& m, const options& o, bool graphs, runner& r) {
  r.graphs = graphs;
  R1_ASSIGN_OR_RETURN(r.backend, r1::kernels::make_cuda_backend({.graphs = graphs}));
  if (r.backend->device_count() == 0) return r1::unavailable("cuda: the driver lists no device");
  r1::engine::context_params cp;
  cp.n_ctx = o.n_prompt + o.n_gen + 8;
  cp.n_threads = o.threads;
  cp.n_batch = std::max(o.n_prompt, 1);
  cp.gpus = {{&r.backend->device_at(0), 0, m.hparams().n_layer, true}};
  R1_ASSIGN_OR_RETURN(r.ctx, r1::engine::context::create(m, cp));
  return r1::ok_status();
}

int fail(const r1::status& s) {
  std::fprintf(stderr, "r1-cuda-decode-bench: %s\n", s.to_string().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"decode speed on a CUDA GPU with and without CUDA graphs"};
  app.add_option("-m,--model", o.model, "GGUF file")->required();
  app.add_option("-p,--n-prompt", o.n_prompt, "prompt tokens (pp)")->check(CLI::Range(1, 8192));
  app.add_option("-n,--n-gen", o.n_gen, "generated tokens (tg)")->check(CLI::Range(1, 8192));
  app.add_option("-r,--repetitions", o.reps, "repetitions of each mode")->check(CLI::Range(1, 100));
  app.add_option("-t,--threads", o.threads, "CPU threads (embedding lookup, sampling side)");
  app.add_option("--modes", o.modes, "graph modes to run, in turn: on, off or on,off");
  CLI11_PARSE(app, argc, argv);

  std::vector<bool> modes;
  if (o.modes.find("on") != std::string::npos) modes.push_back(true);
  if (o.modes.find("off") != std::string::npos) modes.push_back(false);
  if (modes.empty()) return fail(r1::invalid_argument("--modes: expected on, off or on,off, got " + o.modes));

  {
    // Fail fast (before mapping gigabytes) when there is no driver or device.
    const auto probe = r1::kernels::make_cuda_backend();
    if (!probe.ok()) return fail(probe.error());
    if (probe.value()->device_count() == 0) return fail(r1::unavailable("cuda: the driver lists no device"));
  }
  auto m = r1::engine::model::load({o.model});
  if (!m.ok()) return fail(m.error().with_context(o.model));
  std::vector<runner> runners(modes.size());
  for (size_t i = 0; i < modes.size(); ++i) {
    if (const r1::status s = make_runner(*m.value(), o, modes[i], runners[i]); !s.ok()) return fail(s);
  }
  // A warm-up decode per mode (first graph instantiation, lazy driver work), not reported.
  for (runner& r : runners) {
    std::vector<float> logits;
    const int32_t t[1] = {1};
    if (const r1::status s = r.ctx->decode(0, t, 0, r1::engine::logits_mode::last, logits); !s.ok())
      return fail(s);
  }
  const uint32_t n_vocab = m.value()->hparams().n_vocab;
  for (int rep = 0; rep < o.reps; ++rep) {
    // Alternate which mode goes first, so drift in clocks or temperature is shared.
    for (size_t k = 0; k < runners.size(); ++k) {
      runner& r = runners[(k + static_cast<size_t>(rep)) % runners.size()];
      if (const r1::status s = one_rep(r, o, rep, n_vocab); !s.ok()) return fail(s);
    }
  }
  return 0;
}
