// Aggregate decode speed of several slots generating at once (continuous batching).
//
//   r1-batch-bench -m MODEL.gguf [-s 1,2,4] [-n 32] [-p 64] [-t THREADS] [-r 3] [--kv-type f16]
//
// For each slot count S: S slots each hold a prompt of P tokens, then generate N tokens each
// (greedy), in two ways that alternate within every repetition:
//   separate: each step calls context::decode() once per slot (the runner before batching);
//   batched:  each step calls context::decode_batch() once with one row per slot.
// Reported per mode, as JSON lines: aggregate generated tokens per wall second and per
// process CPU second (the machine may be shared: CPU seconds are the steadier figure), and
// the batched/separate ratios of the repetition. The generated tokens of both ways are
// compared (they must be equal: the batched rows compute what each slot alone computes).
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "r1/base/tensor_type.h"
#include "r1/engine/context.h"
#include "r1/engine/model.h"

namespace {

using namespace r1;

struct options {
  std::string model;
  std::vector<int> slots = {1, 2, 4};
  int n = 32, p = 64, threads = 2, reps = 3;
  std::string kv = "f16";
};

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int32_t argmax(const float* row, size_t n) { return static_cast<int32_t>(std::max_element(row, row + n) - row); }

struct timing {
  double wall = 0, cpu = 0;
  std::vector<int32_t> tokens;  // generated, slot after slot
};

// Fills every slot with its prompt and returns each slot's first generated token.
bool prefill(engine::context& ctx, int slots, int p, std::vector<int32_t>& next) {
  const uint32_t nv = ctx.m().hparams().n_vocab;
  std::vector<float> logits;
  next.assign(static_cast<size_t>(slots), 0);
  for (int s = 0; s < slots; ++s) {
    std::vector<int32_t> prompt(static_cast<size_t>(p));
    for (int i = 0; i < p; ++i) prompt[static_cast<size_t>(i)] = static_cast<int32_t>((1000u + 7919u * (i + 31u * s)) % nv);
    if (!ctx.decode(s, prompt, 0, engine::logits_mode::last, logits).ok()) return false;
    next[static_cast<size_t>(s)] = argmax(logits.data(), nv);
  }
  return true;
}

bool run(engine::context& ctx, int slots, const options& o, bool batched, timing& t) {
  const size_t nv = ctx.m().hparams().n_vocab;
  std::vector<int32_t> next;
  if (!prefill(ctx, slots, o.p, next)) return false;
  std::vector<std::vector<int32_t>> out(static_cast<size_t>(slots));
  std::vector<engine::batch_row> rows(static_cast<size_t>(slots));
  std::vector<float> logits;
  const double w0 = wall_seconds(), c0 = cpu_seconds();
  for (int step = 0; step < o.n; ++step) {
    const int32_t pos = o.p + step;
    if (batched) {
      for (int s = 0; s < slots; ++s) rows[static_cast<size_t>(s)] = {s, pos, next[static_cast<size_t>(s)], true};
      if (!ctx.decode_batch(rows, logits).ok()) return false;
      for (int s = 0; s < slots; ++s) {
        out[static_cast<size_t>(s)].push_back(next[static_cast<size_t>(s)]);
        next[static_cast<size_t>(s)] = argmax(logits.data() + static_cast<size_t>(s) * nv, nv);
      }
      continue;
    }
    for (int s = 0; s < slots; ++s) {
      const int32_t one[1] = {next[static_cast<size_t>(s)]};
      if (!ctx.decode(s, one, pos, engine::logits_mode::last, logits).ok()) return false;
      out[static_cast<size_t>(s)].push_back(one[0]);
      next[static_cast<size_t>(s)] = argmax(logits.data(), nv);
    }
  }
  t.wall = wall_seconds() - w0;
  t.cpu = cpu_seconds() - c0;
  t.tokens.clear();
  for (const auto& v : out) t.tokens.insert(t.tokens.end(), v.begin(), v.end());
  return true;
}

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (v == nullptr) return false;
    if (a == "-m") o.model = v;
    else if (a == "-n") o.n = std::atoi(v);
    else if (a == "-p") o.p = std::atoi(v);
    else if (a == "-t") o.threads = std::atoi(v);
    else if (a == "-r") o.reps = std::atoi(v);
    else if (a == "--kv-type") o.kv = v;
    else if (a == "-s") {
      o.slots.clear();
      std::stringstream ss(v);
      for (std::string x; std::getline(ss, x, ',');) o.slots.push_back(std::atoi(x.c_str()));
    } else {
      return false;
    }
    ++i;
  }
  return !o.model.empty() && o.n > 0 && o.p > 0 && o.reps > 0 && !o.slots.empty();
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr, "usage: r1-batch-bench -m MODEL.gguf [-s 1,2,4] [-n 32] [-p 64] [-t 2] [-r 3] [--kv-type f16]\n");
    return 2;
  }
  auto m = engine::model::load({o.model});
  if (!m.ok()) {
    std::fprintf(stderr, "%s\n", m.error().to_string().c_str());
    return 1;
  }
  const auto kv = parse_tensor_type(o.kv);
  if (!kv) {
    std::fprintf(stderr, "unknown KV type %s\n", o.kv.c_str());
    return 2;
  }
  int failures = 0;
  for (int slots : o.slots) {
    auto ctx = engine::context::create(**m, {.n_ctx = o.p + o.n + 8, .n_seq = slots, .kv_type = *kv, .n_threads = o.threads});
    if (!ctx.ok()) {
      std::fprintf(stderr, "%s\n", ctx.error().to_string().c_str());
      return 1;
    }
    timing warm;
    if (!run(**ctx, slots, {.model = o.model, .slots = {}, .n = 2, .p = o.p}, true, warm)) return 1;
    for (int r = 0; r < o.reps; ++r) {
      timing sep, bat;
      // Alternate which way goes first, so slow drifts of a shared machine hit both.
      const bool batched_first = r % 2 == 1;
      for (int k = 0; k < 2; ++k) {
        const bool batched = (k == 0) == batched_first;
        if (!run(**ctx, slots, o, batched, batched ? bat : sep)) return 1;
      }
      const double tok = static_cast<double>(slots) * o.n;
      const bool same = sep.tokens == bat.tokens;
      failures += same ? 0 : 1;
      std::printf("{\"slots\":%d,\"rep\":%d,\"threads\":%d,\"tokens\":%.0f,"
                  "\"separate\":{\"wall_s\":%.4f,\"cpu_s\":%.4f,\"tok_s\":%.2f,\"tok_cpu_s\":%.2f},"
                  "\"batched\":{\"wall_s\":%.4f,\"cpu_s\":%.4f,\"tok_s\":%.2f,\"tok_cpu_s\":%.2f},"
                  "\"ratio_wall\":%.3f,\"ratio_cpu\":%.3f,\"same_tokens\":%s}\n",
                  slots, r, (*ctx)->n_threads(), tok, sep.wall, sep.cpu, tok / sep.wall, tok / sep.cpu, bat.wall,
                  bat.cpu, tok / bat.wall, tok / bat.cpu, sep.wall / bat.wall, sep.cpu / bat.cpu,
                  same ? "true" : "false");
      std::fflush(stdout);
    }
  }
  return failures == 0 ? 0 : 3;
}
