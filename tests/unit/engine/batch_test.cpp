// Continuous batching: context::decode_batch evaluates rows of several slots in one forward
// pass. Every row's logits must be what decode() of that slot alone gives: the same plan of
// prompt chunks and single tokens is run once as one batch per turn and once slot by slot in
// a second context, on tiny models of each architecture, with F32, F16 and Q4_K_M weights and
// F32 and F16 caches. On the dot kernels (every kernel path but amx) each matmul column is
// computed alone, so the logits must be bit-identical. The amx path runs batches of at least
// amx_min_cols() rows of K-quant/Q8_0/Q4_0 weights on AMX tiles, so there a row's kernel
// depends on how many rows share its matmul, as it does for prompt chunks of different sizes;
// the AMX tiles do not reproduce the dot kernels exactly (measured: up to 1.2% of the largest
// logit on the qwen2 Q4_K_M case with an F32 cache), so on that path rows are held to the
// quantized-model noise bound of the forward test (4%). Also: thread-count invariance, refused batches leave the cache
// untouched, and generators stepped through prepare()/decode_batch()/complete() generate what
// step() alone generates.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "r1/engine/context.h"
#include "r1/engine/generator.h"
#include "r1/engine/model.h"
#include "r1/kernels/cpu_features.h"
#include "r1/mkmodel/make_model.h"
#include "r1/test_support/temp_dir.h"

namespace r1::engine {
namespace {

struct batch_case {
  std::string arch;
  std::string type;
  tensor_type kv;
  uint32_t n_embd;  // 256 lets K-quants apply to every matrix; 0 keeps the preset's shape
  std::string name;
};

std::string make_model(const test_support::temp_dir& dir, const batch_case& c) {
  auto spec = mkmodel::preset(c.arch, "tiny");
  EXPECT_TRUE(spec.ok()) << spec.error().to_string();
  mkmodel::model_spec s = *spec;
  if (c.n_embd != 0) {
    s.n_layer = 2;
    s.n_embd = c.n_embd;
    s.n_head = 4;
    s.n_head_kv = 2;
    s.n_ff = 2 * c.n_embd;
  }
  s.n_ctx = 256;
  s.type = c.type;
  s.seed = 21;
  const std::string path = dir / (c.name + ".gguf");
  auto w = mkmodel::write_model(s, path);
  EXPECT_TRUE(w.ok()) << w.error().to_string();
  return path;
}

// One slot's part of a turn: n tokens from position pos (-1: where the slot ends).
struct part {
  int seq;
  int32_t n;
  logits_mode mode;
  int32_t pos = -1;
};

using turn = std::vector<part>;

// Prompt chunks of different lengths (the first turn is split by n_batch 16 in the middle of
// slot 0), slots joining late, single-token turns in changing slot orders, and slot 1 going
// back two positions (its cache is overwritten from there).
std::vector<turn> plan() {
  std::vector<turn> p;
  p.push_back({{2, 13, logits_mode::all}, {0, 5, logits_mode::last}, {1, 6, logits_mode::none}});
  p.push_back({{0, 1, logits_mode::last}, {1, 3, logits_mode::all}, {3, 3, logits_mode::last}, {2, 1, logits_mode::last}});
  const int orders[4][4] = {{0, 1, 2, 3}, {3, 1, 0, 2}, {2, 3, 1, 0}, {1, 0, 3, 2}};
  for (int t = 0; t < 6; ++t) {
    turn u;
    for (int s : orders[t % 4]) u.push_back({s, 1, logits_mode::last});
    p.push_back(u);
  }
  p.push_back({{3, 1, logits_mode::last}, {1, 2, logits_mode::all, 12}, {0, 1, logits_mode::none}});
  p.push_back({{1, 1, logits_mode::last}, {2, 4, logits_mode::all}, {0, 1, logits_mode::last}});
  return p;
}

struct plan_result {
  std::vector<float> logits;  // the wanted rows of every turn, in order
  std::vector<std::vector<int32_t>> cached;  // each slot's tokens at the end
  size_t rows = 0;
};

// Deterministic tokens: slot s, position p.
int32_t token_at(int seq, int32_t pos, uint32_t n_vocab) {
  return static_cast<int32_t>((static_cast<uint32_t>(seq) * 7919u + static_cast<uint32_t>(pos) * 104729u + 13u) % n_vocab);
}

plan_result run_batched(context& ctx, const std::vector<turn>& turns) {
  const uint32_t nv = ctx.m().hparams().n_vocab;
  plan_result r;
  std::vector<batch_row> rows;
  std::vector<float> out;
  for (const turn& t : turns) {
    rows.clear();
    for (const part& p : t) {
      const int32_t pos0 = p.pos >= 0 ? p.pos : static_cast<int32_t>(ctx.kv().tokens(p.seq).size());
      for (int32_t i = 0; i < p.n; ++i) {
        const bool want = p.mode == logits_mode::all || (p.mode == logits_mode::last && i == p.n - 1);
        rows.push_back({p.seq, pos0 + i, token_at(p.seq, pos0 + i, nv), want});
      }
    }
    const status s = ctx.decode_batch(rows, out);
    EXPECT_TRUE(s.ok()) << s.to_string();
    r.logits.insert(r.logits.end(), out.begin(), out.end());
    r.rows += rows.size();
  }
  for (int s = 0; s < ctx.params().n_seq; ++s) r.cached.push_back(ctx.kv().tokens(s));
  return r;
}

plan_result run_alone(context& ctx, const std::vector<turn>& turns) {
  const uint32_t nv = ctx.m().hparams().n_vocab;
  plan_result r;
  std::vector<int32_t> toks;
  std::vector<float> out;
  for (const turn& t : turns) {
    for (const part& p : t) {
      const int32_t pos0 = p.pos >= 0 ? p.pos : static_cast<int32_t>(ctx.kv().tokens(p.seq).size());
      toks.clear();
      for (int32_t i = 0; i < p.n; ++i) toks.push_back(token_at(p.seq, pos0 + i, nv));
      const status s = ctx.decode(p.seq, toks, pos0, p.mode, out);
      EXPECT_TRUE(s.ok()) << s.to_string();
      r.logits.insert(r.logits.end(), out.begin(), out.end());
      r.rows += toks.size();
    }
  }
  for (int s = 0; s < ctx.params().n_seq; ++s) r.cached.push_back(ctx.kv().tokens(s));
  return r;
}

std::unique_ptr<context> make_ctx(const model& m, tensor_type kv, int threads) {
  auto c = context::create(m, {.n_ctx = 64, .n_seq = 4, .kv_type = kv, .n_threads = threads, .n_batch = 16});
  EXPECT_TRUE(c.ok()) << c.error().to_string();
  return c.ok() ? std::move(*c) : nullptr;
}

// Sets a kernel path for the scope of a test and restores the automatic choice.
class kernel_path_scope {
 public:
  explicit kernel_path_scope(const char* name) { ok_ = kernels::set_kernel_path(name).ok(); }
  ~kernel_path_scope() { (void)kernels::set_kernel_path("auto"); }
  bool ok() const { return ok_; }

 private:
  bool ok_ = false;
};

// The best path whose matmul columns are computed alone (every one but amx).
const char* dot_kernel_path() { return kernels::best_kernel_path() == kernels::kernel_path::amx ? "avx512" : "auto"; }

struct plan_diff {
  double worst = 0, scale = 0;
  size_t exact = 0, n = 0, rows = 0;
};

plan_diff run_both(const model& m, tensor_type kv) {
  const auto turns = plan();
  auto a = make_ctx(m, kv, 2);
  auto b = make_ctx(m, kv, 2);
  plan_diff d;
  if (!a || !b) return d;
  const plan_result alone = run_alone(*a, turns);
  const plan_result batch = run_batched(*b, turns);
  EXPECT_EQ(alone.cached, batch.cached);
  EXPECT_EQ(alone.logits.size(), batch.logits.size());
  d.n = std::min(alone.logits.size(), batch.logits.size());
  d.rows = batch.rows;
  for (size_t i = 0; i < d.n; ++i) {
    d.worst = std::max(d.worst, std::fabs(static_cast<double>(alone.logits[i]) - batch.logits[i]));
    d.scale = std::max(d.scale, std::fabs(static_cast<double>(alone.logits[i])));
    d.exact += alone.logits[i] == batch.logits[i];
  }
  return d;
}

class batched : public ::testing::TestWithParam<batch_case> {};

TEST_P(batched, rows_of_several_slots_match_each_slot_decoded_alone) {
  const batch_case& c = GetParam();
  test_support::temp_dir dir("engine-batch");
  auto m = model::load({make_model(dir, c)});
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  const size_t nv = (*m)->hparams().n_vocab;
  {
    kernel_path_scope path(dot_kernel_path());
    ASSERT_TRUE(path.ok());
    const plan_diff d = run_both(**m, c.kv);
    std::printf("%s (%s): %zu rows, %zu logits, %zu differ, max |diff| %.3g, max |logit| %.3g\n", c.name.c_str(),
                kernels::kernel_path_name(), d.rows, d.n, d.n - d.exact, d.worst, d.scale);
    ASSERT_GT(d.n, 50 * nv);  // the plan wants 53 rows
    ASSERT_GT(d.scale, 0.1);
    EXPECT_EQ(d.exact, d.n) << "batched rows differ from each slot decoded alone";
  }
  if (kernels::kernel_path_supported(kernels::kernel_path::amx)) {
    kernel_path_scope path("amx");
    ASSERT_TRUE(path.ok());
    const plan_diff d = run_both(**m, c.kv);
    std::printf("%s (amx): %zu differ, max |diff| %.3g of max |logit| %.3g\n", c.name.c_str(), d.n - d.exact, d.worst,
                d.scale);
    EXPECT_LT(d.worst, 4e-2 * d.scale);
  }
}

INSTANTIATE_TEST_SUITE_P(
    archs, batched,
    ::testing::Values(batch_case{"qwen2", "F32", tensor_type::f32, 128, "qwen2_f32_kvf32"},
                      batch_case{"qwen2", "F32", tensor_type::f16, 128, "qwen2_f32_kvf16"},
                      batch_case{"qwen2", "Q4_K_M", tensor_type::f16, 256, "qwen2_q4km_kvf16"},
                      batch_case{"qwen2", "Q4_K_M", tensor_type::f32, 256, "qwen2_q4km_kvf32"},
                      batch_case{"llama", "F32", tensor_type::f32, 128, "llama_f32_kvf32"},
                      batch_case{"llama", "F16", tensor_type::f16, 128, "llama_f16_kvf16"},
                      batch_case{"llama", "Q4_K_M", tensor_type::f16, 256, "llama_q4km_kvf16"},
                      batch_case{"qwen3", "F32", tensor_type::f32, 128, "qwen3_f32_kvf32"},
                      batch_case{"qwen3", "F16", tensor_type::f32, 128, "qwen3_f16_kvf32"},
                      batch_case{"qwen3", "Q4_K_M", tensor_type::f32, 256, "qwen3_q4km_kvf32"},
                      // No multi-sequence pass: each slot's rows are evaluated on their own.
                      batch_case{"deepseek2", "F32", tensor_type::f32, 0, "deepseek2_fallback"}),
    [](const ::testing::TestParamInfo<batch_case>& p) { return p.param.name; });

TEST(batched_threads, logits_are_identical_with_one_and_two_threads) {
  test_support::temp_dir dir("engine-batch-thr");
  auto m = model::load({make_model(dir, {"qwen2", "Q4_K_M", tensor_type::f16, 256, "thr"})});
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  // Every path, amx included, promises results independent of the thread count.
  const auto turns = plan();
  auto one = make_ctx(**m, tensor_type::f16, 1);
  auto two = make_ctx(**m, tensor_type::f16, 2);
  ASSERT_TRUE(one && two);
  ASSERT_EQ(one->n_threads(), 1);
  ASSERT_EQ(two->n_threads(), 2);
  const plan_result a = run_batched(*one, turns);
  const plan_result b = run_batched(*two, turns);
  ASSERT_EQ(a.logits.size(), b.logits.size());
  size_t differ = 0;
  for (size_t i = 0; i < a.logits.size(); ++i) differ += a.logits[i] != b.logits[i];
  EXPECT_EQ(differ, 0u);
}

TEST(batched_errors, malformed_batches_are_refused_before_anything_is_evaluated) {
  test_support::temp_dir dir("engine-batch-err");
  auto m = model::load({make_model(dir, {"qwen2", "F32", tensor_type::f32, 128, "err"})});
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  auto c = context::create(**m, {.n_ctx = 8, .n_seq = 2, .kv_type = tensor_type::f32, .n_threads = 1, .n_batch = 4});
  ASSERT_TRUE(c.ok());
  context& ctx = **c;
  std::vector<float> l;
  const std::vector<batch_row> prompt = {{0, 0, 5, false}, {0, 1, 6, false}, {1, 0, 7, true}};
  ASSERT_TRUE(ctx.decode_batch(prompt, l).ok());
  EXPECT_EQ(l.size(), (*m)->hparams().n_vocab);
  const int32_t nv = static_cast<int32_t>((*m)->hparams().n_vocab);
  struct bad {
    std::vector<batch_row> rows;
    error_code code;
    const char* says;
  };
  const std::vector<bad> cases = {
      {{}, error_code::invalid_argument, "no rows"},
      {{{0, 2, 1, true}, {2, 0, 1, true}}, error_code::invalid_argument, "slot 2 does not exist"},
      {{{0, 2, nv, true}}, error_code::invalid_argument, "outside the vocabulary"},
      {{{1, 1, 3, true}, {0, 2, 1, true}, {1, 2, 3, true}}, error_code::invalid_argument, "already has rows"},
      {{{0, 2, 1, true}, {0, 4, 1, true}}, error_code::invalid_argument, "does not follow"},
      {{{0, 3, 1, true}}, error_code::invalid_argument, "beyond the 2 tokens"},
      {{{1, 1, 1, false}, {1, 2, 1, false}, {1, 3, 1, false}, {1, 4, 1, false}, {1, 5, 1, false}, {1, 6, 1, false},
        {1, 7, 1, false}, {1, 8, 1, true}},
       error_code::resource_exhausted, "does not fit in the context of 8"},
  };
  for (const bad& b : cases) {
    const status s = ctx.decode_batch(b.rows, l);
    EXPECT_EQ(s.code(), b.code) << s.to_string();
    EXPECT_NE(s.message().find(b.says), std::string::npos) << s.to_string();
    EXPECT_EQ(ctx.kv().tokens(0), (std::vector<int32_t>{5, 6}));
    EXPECT_EQ(ctx.kv().tokens(1), (std::vector<int32_t>{7}));
  }
}

// Generators driven by the batched turn of the runner's inference loop generate what each
// generator alone generates: greedy tokens, their logprobs, prompt logprobs, stop strings.
TEST(batched_generators, prepare_and_complete_around_one_batch_equal_step) {
  test_support::temp_dir dir("engine-batch-gen");
  auto m = model::load({make_model(dir, {"qwen2", "F32", tensor_type::f32, 128, "gen"})});
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  const uint32_t nv = (*m)->hparams().n_vocab;
  std::vector<std::vector<int32_t>> prompts;
  std::vector<generation_params> params(3);
  for (int s = 0; s < 3; ++s) {
    std::vector<int32_t> p;
    for (int32_t i = 0; i < 4 + 9 * s; ++i) p.push_back(token_at(s + 5, i, nv));
    prompts.push_back(p);
    params[s].sampling.temperature = 0;
    params[s].n_predict = 10 + 3 * s;
  }
  params[1].n_probs = 3;
  params[1].prompt_logprobs = true;
  params[2].sampling.temperature = 0.8f;
  params[2].sampling.seed = 7;

  auto alone_ctx = make_ctx(**m, tensor_type::f32, 2);
  auto batch_ctx = make_ctx(**m, tensor_type::f32, 2);
  ASSERT_TRUE(alone_ctx && batch_ctx);
  std::vector<std::vector<generation_output>> alone(3), batch(3);
  for (int s = 0; s < 3; ++s) {
    generator g(*alone_ctx, s);
    ASSERT_TRUE(g.start(prompts[s], params[s]).ok());
    while (!g.done()) alone[s].push_back(*g.step());
  }
  std::vector<std::unique_ptr<generator>> gens;
  for (int s = 0; s < 3; ++s) {
    gens.push_back(std::make_unique<generator>(*batch_ctx, s));
    ASSERT_TRUE(gens.back()->start(prompts[s], params[s]).ok());
  }
  std::vector<float> logits;
  for (int turn = 0; turn < 100; ++turn) {
    std::vector<batch_row> rows;
    std::vector<generation_output> outs(3);
    std::vector<size_t> n_logits(3, 0);
    std::vector<bool> evaluating(3, false);
    for (int s = 0; s < 3; ++s) {
      if (gens[s]->done()) continue;
      step_input in;
      // Prompt chunks of 5 (step() takes n_batch 16 at a time: the logits do not depend on it).
      evaluating[s] = gens[s]->prepare(outs[s], in, 5);
      if (!evaluating[s]) {
        batch[s].push_back(outs[s]);
        continue;
      }
      for (size_t i = 0; i < in.tokens.size(); ++i) {
        const bool want = in.mode == logits_mode::all || (in.mode == logits_mode::last && i + 1 == in.tokens.size());
        rows.push_back({s, in.pos + static_cast<int32_t>(i), in.tokens[i], want});
        n_logits[s] += want;
      }
    }
    if (rows.empty()) break;
    const status st = batch_ctx->decode_batch(rows, logits);
    ASSERT_TRUE(st.ok()) << st.to_string();
    size_t at = 0;
    for (int s = 0; s < 3; ++s) {
      if (!evaluating[s]) continue;
      gens[s]->complete(outs[s], std::span<const float>(logits).subspan(at * nv, n_logits[s] * nv), st);
      at += n_logits[s];
      batch[s].push_back(outs[s]);
    }
  }
  for (int s = 0; s < 3; ++s) {
    std::vector<int32_t> ta, tb;
    std::vector<float> pa, pb;
    size_t prompt_probs_a = 0, prompt_probs_b = 0;
    for (const auto& o : alone[s]) {
      ta.insert(ta.end(), o.tokens.begin(), o.tokens.end());
      for (const auto& p : o.probs) pa.push_back(p.chosen.logprob);
      for (const auto& p : o.prompt_probs) pa.push_back(p.chosen.logprob);
      prompt_probs_a += o.prompt_probs.size();
    }
    for (const auto& o : batch[s]) {
      tb.insert(tb.end(), o.tokens.begin(), o.tokens.end());
      for (const auto& p : o.probs) pb.push_back(p.chosen.logprob);
      for (const auto& p : o.prompt_probs) pb.push_back(p.chosen.logprob);
      prompt_probs_b += o.prompt_probs.size();
    }
    EXPECT_EQ(ta, tb) << "slot " << s;
    EXPECT_EQ(ta.size(), static_cast<size_t>(params[s].n_predict)) << "slot " << s;
    ASSERT_EQ(pa.size(), pb.size()) << "slot " << s;
    for (size_t i = 0; i < pa.size(); ++i) EXPECT_NEAR(pa[i], pb[i], 1e-5) << "slot " << s << " logprob " << i;
    EXPECT_EQ(prompt_probs_a, prompt_probs_b);
    ASSERT_FALSE(batch[s].empty());
    EXPECT_TRUE(batch[s].back().done);
    EXPECT_EQ(batch[s].back().reason, alone[s].back().reason);
    EXPECT_EQ(gens[s]->stats().predicted_n, params[s].n_predict);
    EXPECT_EQ(gens[s]->stats().prompt_n, static_cast<int32_t>(prompts[s].size()));
  }
  EXPECT_EQ(alone_ctx->kv().tokens(1), batch_ctx->kv().tokens(1));
}

}  // namespace
}  // namespace r1::engine
