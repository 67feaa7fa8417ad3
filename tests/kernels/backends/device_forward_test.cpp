// End to end: tiny models of each dense architecture (written by mkmodel) run
// greedily for a prompt and 12 generated tokens on the engine (CPU) and with
// every layer on each GPU device through backend ops only (device_forward.h).
// The GPU is fed the CPU's tokens (teacher forcing), so every step compares the
// same inputs: logits must be close and the greedy tokens identical (see the
// rule for quantized weights below).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "backend_test_util.h"
#include "device_forward.h"
#include "r1/engine/context.h"
#include "r1/mkmodel/make_model.h"
#include "r1/mkmodel/model_spec.h"

namespace r1::kernels::testing {
namespace {

namespace fs = std::filesystem;

struct forward_case {
  const char* arch;
  const char* type;
};

int32_t argmax(const std::vector<float>& v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

class device_forward_cases : public ::testing::TestWithParam<forward_case> {};

TEST_P(device_forward_cases, greedy_tokens_match_the_cpu_engine) {
  if (gpu_devices().empty()) GTEST_SKIP() << "no GPU device: nothing to compare with the CPU engine";
  const forward_case c = GetParam();
  const fs::path dir = fs::temp_directory_path() / ("r1-devfwd-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto spec = mkmodel::preset(c.arch, "tiny").value();
  spec.type = c.type;
  spec.seed = 5;
  const std::string path = (dir / "m.gguf").string();
  ASSERT_TRUE(mkmodel::write_model(spec, path).ok());

  auto m = engine::model::load({path});
  ASSERT_TRUE(m.ok()) << m.error().message();
  const engine::model_hparams& hp = m.value()->hparams();
  engine::context_params cp;
  cp.n_ctx = 64;
  cp.n_threads = 2;
  auto ctx = engine::context::create(*m.value(), cp);
  ASSERT_TRUE(ctx.ok()) << ctx.error().message();
  auto files = gguf::model_files::open(path);
  ASSERT_TRUE(files.ok());

  const std::vector<int32_t> prompt{11, 42, 7, 100, 3, 250, 9};
  std::vector<int32_t> cpu_tokens, cpu_batch = prompt;
  std::vector<std::vector<float>> cpu_logits;
  int32_t pos = 0;
  for (int step = 0; step < 12; ++step) {
    std::vector<float> logits;
    ASSERT_TRUE(ctx.value()->decode(0, cpu_batch, pos, engine::logits_mode::last, logits).ok());
    pos += static_cast<int32_t>(cpu_batch.size());
    cpu_logits.push_back(logits);
    cpu_tokens.push_back(argmax(logits));
    cpu_batch = {cpu_tokens.back()};
  }

  // F32/F16: the CPU dots f32 (or F16-rounded) activations, like the GPU: tokens must be identical.
  // Q8_0: the CPU quantizes activations to Q8_0 (as llama.cpp's CPU does), the GPU dots f32
  // activations: the logits differ by ~2e-4 NMSE, so a different argmax is allowed only as a near
  // tie: the CPU's gap between the two tokens within 4x the RMS logit difference of that step.
  const bool float_weights = std::string(c.type) != "Q8_0";
  const double tol = float_weights ? 1e-4 : 1e-3;
  for (device* d : gpu_devices()) {
    auto fw = device_forward::create(*d, files.value(), hp, 64);
    ASSERT_TRUE(fw.ok()) << fw.error().message();
    std::vector<int32_t> tokens, batch = prompt;
    pos = 0;
    for (int step = 0; step < 12; ++step) {
      auto logits = fw.value()->decode(batch, pos);
      ASSERT_TRUE(logits.ok()) << logits.error().message();
      pos += static_cast<int32_t>(batch.size());
      const auto& ref = cpu_logits[step];
      EXPECT_LT(nmse(logits.value(), ref), tol) << device_label(*d) << " step " << step;
      tokens.push_back(argmax(logits.value()));
      if (!float_weights && tokens.back() != cpu_tokens[step]) {
        double se = 0;
        for (size_t i = 0; i < ref.size(); ++i) se += (logits.value()[i] - ref[i]) * (logits.value()[i] - ref[i]);
        const double rms = std::sqrt(se / static_cast<double>(ref.size()));
        EXPECT_LT(ref[cpu_tokens[step]] - ref[tokens.back()], 4 * rms) << device_label(*d) << " step " << step;
        tokens.back() = cpu_tokens[step];  // near tie: continue on the CPU's token (teacher forcing)
      }
      batch = {cpu_tokens[step]};
    }
    EXPECT_EQ(tokens, cpu_tokens) << device_label(*d) << " " << c.arch << " " << c.type;
  }
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(models, device_forward_cases,
                         ::testing::Values(forward_case{"qwen2", "F32"}, forward_case{"llama", "F32"},
                                           forward_case{"qwen3", "F32"}, forward_case{"qwen2", "F16"},
                                           forward_case{"qwen2", "Q8_0"}),
                         [](const auto& p) { return std::string(p.param.arch) + "_" + p.param.type; });

}  // namespace
}  // namespace r1::kernels::testing
