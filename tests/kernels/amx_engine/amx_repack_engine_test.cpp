// Repacked AMX weights in the engine (model::repack_for_amx): prompt and decode
// logits with every projection repacked, with only those that fit a small budget,
// and with none, are bit for bit those of the unpacking path (the same tile
// products and float steps), for a K-quant mix and Q8_0; a decode reads the
// decode panels of Q8_0 and Q4_K copies, equal to float rounding (Q8_0 prompts on
// the integer GEMM: set_amx_bf16_prompts(false)). The report
// counts what was copied and released; off the amx path nothing is. Skipped where AMX is unavailable.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <random>
#include <string>

#include "amx_engine_model.h"
#include "amx_test_util.h"
#include "r1/engine/context.h"
#include "r1/engine/model.h"
#include "r1/kernels/cpu_features.h"
#include "r1/kernels/matmul.h"
#include "r1/test_support/temp_dir.h"

namespace r1::engine {
namespace {

using testing::logits_run;
using testing::path_restore;

logits_run run(const model& m, const std::vector<int32_t>& tokens) {
  logits_run r;
  auto ctx = context::create(m, {.n_ctx = 128, .n_seq = 1, .kv_type = tensor_type::f16, .n_threads = 2});
  EXPECT_TRUE(ctx.ok());
  if (!ctx.ok()) return r;
  EXPECT_TRUE((*ctx)->decode(0, tokens, 0, logits_mode::all, r.prompt).ok());
  const std::vector<int32_t> one{tokens[5]};
  EXPECT_TRUE((*ctx)->decode(0, one, static_cast<int32_t>(tokens.size()), logits_mode::last, r.next).ok());
  return r;
}

void expect_same_bits(const logits_run& a, const logits_run& b, const std::string& what) {
  ASSERT_EQ(a.prompt.size(), b.prompt.size()) << what;
  ASSERT_EQ(a.next.size(), b.next.size()) << what;
  for (size_t i = 0; i < a.prompt.size(); ++i)
    ASSERT_EQ(std::bit_cast<uint32_t>(a.prompt[i]), std::bit_cast<uint32_t>(b.prompt[i])) << what << " prompt " << i;
  for (size_t i = 0; i < a.next.size(); ++i)
    ASSERT_EQ(std::bit_cast<uint32_t>(a.next[i]), std::bit_cast<uint32_t>(b.next[i])) << what << " next " << i;
}

// Decodes read the repacked decode panels (Q8_0, and Q4_K in a Q4_K_M), whose
// float summation order is not the dot kernels': prompts must match bit for bit,
// the decode to float rounding (1e-4 of the largest logit through two layers).
// Without copies (`exact`) the decode is bit for bit too.
void expect_same(const logits_run& a, const logits_run& b, const std::string& type, const std::string& what,
                 bool exact = false) {
  if (exact) return expect_same_bits(a, b, type + " " + what);
  expect_same_bits({a.prompt, {}}, {b.prompt, {}}, type + " " + what + " (prompt)");
  ASSERT_EQ(a.next.size(), b.next.size()) << what;
  float peak = 0;
  for (float v : a.next) peak = std::max(peak, std::fabs(v));
  size_t differ = 0;
  for (size_t i = 0; i < a.next.size(); ++i) {
    ASSERT_NEAR(a.next[i], b.next[i], 1e-4f * peak) << type << " " << what << " next " << i;
    differ += a.next[i] != b.next[i];
  }
  ::testing::Test::RecordProperty("decode_logits_differing", static_cast<int>(differ));
}

std::unique_ptr<model> load(const std::string& path) {
  auto m = model::load({path});
  EXPECT_TRUE(m.ok()) << m.error().to_string();
  return m.ok() ? std::move(*m) : nullptr;
}

void check_type(const std::string& type) {
  // Q8_0 prompts on the integer GEMM, whose bits these are (AMX-BF16 prompts:
  // amx_engine_test.cpp).
  kernels::test::bf16_prompts_off keep;
  test_support::temp_dir dir("amx-repack");
  const std::string path = dir / ("tiny-" + type + ".gguf");
  ASSERT_TRUE(testing::write_amx_test_model(path, type, 11).ok());
  ASSERT_TRUE(kernels::set_kernel_path("amx").ok());
  auto plain = load(path);
  ASSERT_TRUE(plain);
  std::mt19937 rng(13);
  std::uniform_int_distribution<int32_t> d(0, static_cast<int32_t>(plain->hparams().n_vocab) - 1);
  std::vector<int32_t> tokens(45);  // two full token tiles and a 13-column tail
  for (auto& t : tokens) t = d(rng);
  ASSERT_GE(static_cast<int64_t>(tokens.size()), kernels::amx_min_cols());
  auto off = plain->repack_for_amx({repack_mode::off, 0, 2});
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(off->repacked, 0u);
  // q, k, v, o, gate, up, down of 2 layers, and the output head's decode panels.
  EXPECT_EQ(off->eligible, 15u) << type;
  const logits_run want = run(*plain, tokens);

  auto all = load(path);
  auto on = all->repack_for_amx({repack_mode::on, 0, 2});
  ASSERT_TRUE(on.ok()) << on.error().to_string();
  EXPECT_TRUE(on->amx);
  EXPECT_EQ(on->repacked, on->eligible) << type;
  EXPECT_EQ(on->bytes, on->eligible_bytes) << type;
  EXPECT_GT(on->bytes, 0u);
  // Every copy in one arena on huge pages, however small (kernels::amx_arena): the
  // huge bytes are the copies' own, with no copy on small pages and none rounded
  // up to a 2 MiB page of its own.
  if (kernels::test::thp_offered() && on->bytes >= (uint64_t{1} << 20)) {
    EXPECT_EQ(on->huge_bytes, on->bytes) << type;
  }
  // Q8_0's copies serve every matmul: the originals leave the resident set (still
  // readable: the logits below read the token embedding, which a tied head shares).
  if (type == "Q8_0") {
    EXPECT_GE(on->released_bytes, on->bytes - on->bytes / 8) << "whole pages of every original";
    EXPECT_LE(on->released_bytes, on->bytes);
  } else {
    // Q4_K and Q6_K layers get their decode panels alone (Q4_K's as large as the rows,
    // Q6_K's 1 % larger; A panels would add 3.7 times the rows), and their prompts go on
    // reading the original rows, which stay resident; only the head's leave.
    EXPECT_LE(on->bytes, all->info().weights_bytes * 11 / 10) << type;
    EXPECT_GT(on->released_bytes, 0u) << type;
    EXPECT_LE(on->released_bytes, on->bytes / 3) << type;
  }
  expect_same(want, run(*all, tokens), type, "repack on");
  EXPECT_FALSE(all->repack_for_amx({repack_mode::on, 0, 2}).ok()) << "a second repacking";

  // A budget of a third of the copies: some matrices repacked, the others unpacked per call.
  auto some = load(path);
  auto part = some->repack_for_amx({repack_mode::automatic, on->eligible_bytes / 3, 2});
  ASSERT_TRUE(part.ok());
  EXPECT_GT(part->repacked, 0u) << type;
  EXPECT_LT(part->repacked, part->eligible) << type;
  EXPECT_LE(part->bytes, part->budget_bytes) << type;
  expect_same(want, run(*some, tokens), type, "repack within a budget");

  // A budget smaller than any matrix: nothing repacked.
  auto none = load(path);
  auto tiny = none->repack_for_amx({repack_mode::automatic, 1, 2});
  ASSERT_TRUE(tiny.ok());
  EXPECT_EQ(tiny->repacked, 0u);
  EXPECT_EQ(tiny->bytes, 0u);
  expect_same(want, run(*none, tokens), type, "budget too small", true);
}

TEST(AmxRepackEngine, LogitsEqualUnpackingQ4KM) {
  if (!kernels::kernel_path_supported(kernels::kernel_path::amx))
    GTEST_SKIP() << "AMX-INT8 not available on this machine: weights are never repacked here";
  path_restore restore;
  check_type("Q4_K_M");
}

TEST(AmxRepackEngine, LogitsEqualUnpackingQ8_0) {
  if (!kernels::kernel_path_supported(kernels::kernel_path::amx))
    GTEST_SKIP() << "AMX-INT8 not available on this machine: weights are never repacked here";
  path_restore restore;
  check_type("Q8_0");
}

// Off the amx path no copy would be read, so none is made, whatever the mode.
TEST(AmxRepackEngine, NothingRepackedOffTheAmxPath) {
  path_restore restore;
  ASSERT_TRUE(kernels::set_kernel_path("scalar").ok());
  test_support::temp_dir dir("amx-repack-off");
  const std::string path = dir / "tiny.gguf";
  ASSERT_TRUE(testing::write_amx_test_model(path, "Q4_K_M", 3).ok());
  auto m = load(path);
  ASSERT_TRUE(m);
  auto r = m->repack_for_amx({repack_mode::on, 0, 1});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->amx);
  EXPECT_EQ(r->repacked, 0u);
  EXPECT_EQ(r->bytes, 0u);
}

TEST(AmxRepackEngine, ModeNames) {
  for (const char* n : {"off", "on", "auto"}) {
    auto m = parse_repack_mode(n);
    ASSERT_TRUE(m.ok()) << n;
    EXPECT_STREQ(repack_mode_name(*m), n);
  }
  auto bad = parse_repack_mode("always");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("always"), std::string::npos);
}

}  // namespace
}  // namespace r1::engine
