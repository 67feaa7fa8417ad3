// CUDA graphs through the engine: tiny mkmodel models of each dense architecture
// with every layer and the head on the GPU, decoded with graphs on, with graphs off
// and with every capture failing (the eager fallback). The three must give the same
// logits bit for bit at every step: a prompt (eager: more tokens than a graph step),
// one-token steps (positions and KV length change each time: the update path), a
// two-token step (a new batch size: a new instantiation), more one-token steps, and
// a step on a second slot (other cache rows). Skips where no CUDA device exists.
#include <gtest/gtest.h>

#include <unistd.h>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "r1/engine/context.h"
#include "r1/engine/model.h"
#include "r1/kernels/cuda_backend.h"
#include "r1/mkmodel/make_model.h"
#include "r1/mkmodel/model_spec.h"

namespace r1::kernels {
namespace {

namespace fs = std::filesystem;

struct arch_case {
  const char* arch;
  const char* type;
};

int32_t argmax(const std::vector<float>& v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

// One decode call: slot, tokens, position.
struct call {
  int seq;
  std::vector<int32_t> tokens;
  int32_t pos;
};

// The calls of the test: prompt, 10 single steps, a pair, 4 single steps, slot 1.
// Tokens after the prompt are the greedy choices of `ref` when given (else of this run).
std::vector<std::vector<float>> decode_all(engine::context& ctx, const std::vector<std::vector<float>>* ref) {
  std::vector<std::vector<float>> out;
  std::vector<call> plan{{0, {11, 42, 7, 100, 3, 250, 9, 17, 31, 5, 64}, 0}};
  int32_t pos = 11;
  auto next = [&](size_t i) { return argmax(ref ? (*ref)[i] : out[i]); };
  for (size_t i = 0; i < 16; ++i) {
    std::vector<float> logits;
    const call& c = plan.back();
    const status s = ctx.decode(c.seq, c.tokens, c.pos, engine::logits_mode::last, logits);
    EXPECT_TRUE(s.ok()) << "call " << i << ": " << s.to_string();
    if (!s.ok()) return out;
    out.push_back(std::move(logits));
    const int32_t t = next(i);
    if (i == 10) {
      plan.push_back({0, {t, static_cast<int32_t>((t + 1) % 200)}, pos});
      pos += 2;
    } else if (i == 15) {
      break;
    } else {
      plan.push_back({0, {t}, pos});
      pos += 1;
    }
  }
  std::vector<float> last;
  const int32_t one[1] = {42};
  const status s = ctx.decode(1, one, 0, engine::logits_mode::last, last);
  EXPECT_TRUE(s.ok()) << s.to_string();
  out.push_back(std::move(last));
  return out;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

class cuda_graph_engine : public ::testing::TestWithParam<arch_case> {};

TEST_P(cuda_graph_engine, graphs_on_off_and_fallback_give_the_same_logits) {
  auto on = make_cuda_backend({.graphs = true});
  if (!on.ok()) GTEST_SKIP() << "no CUDA device, skipped: " << on.error().message();
  if (on.value()->device_count() == 0) GTEST_SKIP() << "no CUDA device, skipped: the driver lists none";
  auto off = make_cuda_backend({.graphs = false});
  auto failing = make_cuda_backend({.graphs = true, .fail_graph_capture = true});
  ASSERT_TRUE(off.ok() && failing.ok());

  const arch_case c = GetParam();
  const fs::path dir = fs::temp_directory_path() / ("r1-cuda-graph-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto spec = mkmodel::preset(c.arch, "tiny").value();
  spec.type = c.type;
  spec.n_layer = 4;
  spec.seed = 5;
  const std::string path = (dir / (std::string(c.arch) + ".gguf")).string();
  ASSERT_TRUE(mkmodel::write_model(spec, path).ok());
  auto m = engine::model::load({path});
  ASSERT_TRUE(m.ok()) << m.error().message();
  const uint32_t n_layer = m.value()->hparams().n_layer;

  auto make_ctx = [&](backend& b) {
    engine::context_params cp;
    cp.n_ctx = 64;
    cp.n_seq = 2;
    cp.n_threads = 2;
    cp.n_batch = 16;
    cp.gpus = {{&b.device_at(0), 0, n_layer, true}};
    auto ctx = engine::context::create(*m.value(), cp);
    EXPECT_TRUE(ctx.ok()) << ctx.error().message();
    return ctx.ok() ? std::move(ctx).value() : nullptr;
  };
  auto ce = make_ctx(*off.value());
  auto cg = make_ctx(*on.value());
  auto cf = make_ctx(*failing.value());
  ASSERT_TRUE(ce && cg && cf);
  const auto eager = decode_all(*ce, nullptr);
  const auto graph = decode_all(*cg, &eager);
  ::testing::internal::CaptureStderr();
  const auto fallback = decode_all(*cf, &eager);
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_EQ(eager.size(), 17u);
  ASSERT_EQ(graph.size(), eager.size());
  ASSERT_EQ(fallback.size(), eager.size());
  for (size_t i = 0; i < eager.size(); ++i) {
    EXPECT_TRUE(same_bits(graph[i], eager[i])) << "graph vs eager, call " << i;
    EXPECT_TRUE(same_bits(fallback[i], eager[i])) << "fallback vs eager, call " << i;
  }

  // 17 calls: the 11-token prompt is eager; 15 one-token steps (one instantiation, 14 updates),
  // one two-token step (its own instantiation).
  const cuda_graph_stats g = graph_stats(on.value()->device_at(0));
  EXPECT_EQ(g.graph_steps, 16u);
  EXPECT_EQ(g.instantiations, 2u);
  EXPECT_EQ(g.updates, 14u);
  EXPECT_EQ(g.eager_steps, 1u);
  EXPECT_EQ(g.fallbacks, 0u);
  const cuda_graph_stats e = graph_stats(off.value()->device_at(0));
  EXPECT_EQ(e.graph_steps + e.instantiations + e.updates + e.fallbacks, 0u);
  EXPECT_EQ(e.eager_steps, 17u);
  const cuda_graph_stats f = graph_stats(failing.value()->device_at(0));
  EXPECT_EQ(f.graph_steps + f.instantiations + f.updates, 0u);
  EXPECT_EQ(f.fallbacks, 16u);
  EXPECT_EQ(f.eager_steps, 17u);
  // The first failed capture of the stream is a warning naming the reason; later ones are quiet.
  const std::string words = "CUDA graph capture failed";
  const size_t at = log.find(words);
  ASSERT_NE(at, std::string::npos) << log;
  EXPECT_NE(log.find("fail_graph_capture"), std::string::npos) << log;
  EXPECT_EQ(log.find(words, at + 1), std::string::npos) << log;
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(models, cuda_graph_engine,
                         ::testing::Values(arch_case{"qwen2", "F32"}, arch_case{"llama", "F16"},
                                           arch_case{"qwen3", "F32"}, arch_case{"qwen2", "Q8_0"}),
                         [](const auto& p) { return std::string(p.param.arch) + "_" + p.param.type; });

}  // namespace
}  // namespace r1::kernels
