// GPU offload through the product runner: real r1-runner processes on loopback ports, real
// HTTP. The same tiny models (qwen2, llama, qwen3; F32, F16, Q8_0; 4 layers) generate greedily
// on a CPU-only runner and on runners with all 4 layers (and the head) or 2 of 4 layers on the
// first GPU (Mesa's lavapipe in CI), with prompts split into batches of 4 tokens and a second
// request that reuses the cached prefix. F32/F16 tokens must be identical; with Q8_0 weights
// the CPU quantizes activations and the GPU does not (docs/dev/gpu.md), so the sequences may
// part only at a near tie: where they first differ, the CPU's two best tokens are within 0.05
// nats. /info must report the layers and bytes placed on the device; asking for more layers
// than fit (R1_GPU_MEMORY_LIMIT / --gpu-memory-limit), for GPU layers of deepseek2, or for GPU
// layers with GPUs disabled is refused with a clear error.
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "r1/mkmodel/make_model.h"
#include "r1/test_support/temp_dir.h"
#include "runner_process.h"

namespace r1::runner_test {
namespace {

using json = nlohmann::json;

// Output of a command run through the shell, and its exit status.
std::pair<int, std::string> shell(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return {-1, out};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

std::string runner_bin() { return std::string(R1_BINARY_DIR) + "/bin/r1-runner"; }

// The Vulkan / CUDA devices r1-runner lists (empty when none).
json gpu_devices() {
  auto [code, out] = shell(runner_bin() + " --list-devices");
  json j = json::parse(out, nullptr, false);
  json gpus = json::array();
  if (code != 0 || !j.is_object()) return gpus;
  for (const auto& d : j["devices"])
    if (d["backend"] != "cpu") gpus.push_back(d);
  return gpus;
}

bool have_gpu() {
  static const bool have = !gpu_devices().empty();
  return have;
}

#define SKIP_WITHOUT_GPU()                                                                        \
  do {                                                                                            \
    if (!have_gpu()) GTEST_SKIP() << "r1-runner --list-devices shows no GPU: nothing to offload"; \
  } while (0)

test_support::temp_dir& work() {
  static test_support::temp_dir* d = new test_support::temp_dir("gpu-runner");
  return *d;
}

std::string make_model(const std::string& arch, const std::string& type) {
  const std::string path = work() / (arch + "-" + type + ".gguf");
  auto spec = mkmodel::preset(arch, "tiny");
  EXPECT_TRUE(spec.ok());
  mkmodel::model_spec s = *spec;
  s.type = type;
  s.n_layer = 4;
  s.seed = 21;
  auto w = mkmodel::write_model(s, path);
  EXPECT_TRUE(w.ok()) << w.error().to_string();
  return path;
}

struct served {
  std::unique_ptr<runner_process> proc;
  json info;
};

served serve(const std::string& model, const std::vector<std::string>& extra) {
  std::vector<std::string> args{"--model", model, "--ctx", "256", "--threads", "2", "--batch", "4"};
  args.insert(args.end(), extra.begin(), extra.end());
  served s;
  auto p = runner_process::start(args);
  EXPECT_TRUE(p.ok()) << p.error().to_string();
  if (!p.ok()) return s;
  s.proc = std::move(*p);
  status ready = s.proc->wait_ready(120000);
  EXPECT_TRUE(ready.ok()) << ready.to_string();
  if (!ready.ok()) return s;
  auto i = http_request(s.proc->port(), "GET", "/info");
  EXPECT_TRUE(i.ok());
  if (i.ok()) s.info = json::parse(i->body, nullptr, false);
  return s;
}

// Greedy tokens and, per token, the gap between the best two logprobs.
struct greedy {
  std::vector<int32_t> tokens;
  std::vector<double> gaps;
};

greedy complete(int port, const std::vector<int32_t>& prompt, int n) {
  json req{{"prompt_tokens", prompt}, {"n_predict", n}, {"temperature", 0}, {"stream", false},
           {"n_probs", 2},            {"cache_prompt", true}};
  auto r = http_request(port, "POST", "/completion", req.dump(), 120000);
  greedy g;
  EXPECT_TRUE(r.ok());
  if (!r.ok()) return g;
  EXPECT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body, nullptr, false);
  for (const auto& t : j["tokens"]) g.tokens.push_back(t.get<int32_t>());
  for (const auto& p : j["probs"]) {
    const auto& top = p["top"];
    g.gaps.push_back(top.size() >= 2 ? top[0]["logprob"].get<double>() - top[1]["logprob"].get<double>() : 1e9);
  }
  return g;
}

void expect_same(const greedy& cpu, const greedy& gpu, bool exact, const std::string& what) {
  ASSERT_EQ(gpu.tokens.size(), cpu.tokens.size()) << what;
  if (exact) {
    EXPECT_EQ(gpu.tokens, cpu.tokens) << what;
    return;
  }
  for (size_t i = 0; i < cpu.tokens.size(); ++i) {
    if (gpu.tokens[i] == cpu.tokens[i]) continue;
    ASSERT_LT(i, cpu.gaps.size());
    EXPECT_LT(cpu.gaps[i], 0.05) << what << ": tokens part at step " << i << " without a near tie";
    return;  // after the first difference the contexts differ
  }
}

struct model_case {
  const char* arch;
  const char* type;
};

class gpu_runner : public ::testing::TestWithParam<model_case> {};

TEST_P(gpu_runner, greedy_tokens_match_the_cpu_runner_full_and_partial_offload) {
  SKIP_WITHOUT_GPU();
  const model_case c = GetParam();
  const std::string model = make_model(c.arch, c.type);
  const bool exact = std::string(c.type) != "Q8_0";
  const std::vector<int32_t> prompt{11, 42, 7, 100, 3, 250, 9};

  served cpu = serve(model, {"--n-gpu-layers", "0"});
  ASSERT_TRUE(cpu.proc);
  EXPECT_EQ(cpu.info["backend"], "cpu");
  EXPECT_EQ(cpu.info["vram_bytes"], 0);
  EXPECT_TRUE(cpu.info["devices"].empty());
  const greedy ref = complete(cpu.proc->port(), prompt, 16);
  ASSERT_EQ(ref.tokens.size(), 16u);
  std::vector<int32_t> longer = prompt;
  longer.insert(longer.end(), ref.tokens.begin(), ref.tokens.begin() + 5);
  const greedy ref2 = complete(cpu.proc->port(), longer, 6);

  for (int layers : {4, 2}) {
    const std::string what = std::string(c.arch) + " " + c.type + " with " + std::to_string(layers) + " GPU layers";
    served gpu = serve(model, {"--n-gpu-layers", std::to_string(layers)});
    ASSERT_TRUE(gpu.proc) << what;
    const json& info = gpu.info;
    EXPECT_EQ(info["n_gpu_layers"], layers) << what;
    ASSERT_EQ(info["devices"].size(), 1u) << info.dump();
    const json& d = info["devices"][0];
    EXPECT_EQ(info["backend"], d["backend"]);
    EXPECT_NE(d["backend"], "cpu");
    EXPECT_EQ(d["n_layers"], layers);
    EXPECT_EQ(d["output"], layers == 4) << "the head follows the last layer only when every layer is offloaded";
    EXPECT_GT(d["bytes"].get<uint64_t>(), 0u);
    EXPECT_EQ(info["vram_bytes"], d["bytes"]);
    expect_same(ref, complete(gpu.proc->port(), prompt, 16), exact, what);
    expect_same(ref2, complete(gpu.proc->port(), longer, 6), exact, what + " (cached prefix)");
  }
}

INSTANTIATE_TEST_SUITE_P(models, gpu_runner,
                         ::testing::Values(model_case{"qwen2", "F32"}, model_case{"llama", "F32"},
                                           model_case{"qwen3", "F32"}, model_case{"qwen2", "F16"},
                                           model_case{"llama", "Q8_0"}),
                         [](const auto& p) { return std::string(p.param.arch) + "_" + p.param.type; });

TEST(gpu_runner_devices, list_devices_and_no_gpu) {
  auto [code, out] = shell(runner_bin() + " --list-devices");
  ASSERT_EQ(code, 0) << out;
  json j = json::parse(out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << out;
  ASSERT_TRUE(j["devices"].is_array());
  ASSERT_TRUE(j["unavailable"].is_array());
  bool cpu = false;
  for (const auto& d : j["devices"]) {
    EXPECT_TRUE(d["total_memory"].is_number_unsigned()) << d.dump();
    EXPECT_TRUE(d["free_memory"].is_number_unsigned()) << d.dump();
    cpu = cpu || d["backend"] == "cpu";
  }
  EXPECT_TRUE(cpu) << out;
#ifdef R1_EXPECT_VULKAN_DEVICE
  EXPECT_TRUE(have_gpu()) << "a Vulkan build must list a device (CI installs lavapipe): " << out;
#endif
  auto [code2, out2] = shell("R1_NO_GPU=1 " + runner_bin() + " --list-devices");
  ASSERT_EQ(code2, 0);
  json k = json::parse(out2, nullptr, false);
  ASSERT_TRUE(k.is_object()) << out2;
  for (const auto& d : k["devices"]) EXPECT_EQ(d["backend"], "cpu") << out2;
}

// Loading fails (the runner reports the error on /health) with `words` in the message.
void expect_refused(const std::string& model, const std::vector<std::string>& extra, const std::string& words) {
  std::vector<std::string> args{"--model", model, "--ctx", "256", "--threads", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto p = runner_process::start(args);
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  status s = (*p)->wait_ready(60000);
  ASSERT_FALSE(s.ok()) << "loaded although it should not: " << words;
  EXPECT_NE(s.message().find(words), std::string::npos) << s.message();
}

TEST(gpu_runner_refusals, more_layers_than_fit_are_refused) {
  SKIP_WITHOUT_GPU();
  const std::string model = make_model("qwen2", "F32");
  // A budget of 256 KiB holds the scratch and at most a layer or two of this model, not 4.
  expect_refused(model, {"--n-gpu-layers", "4", "--gpu-memory-limit", "262144"}, "4 GPU layers requested but only");
  // The environment variable is the same knob.
  ::setenv("R1_GPU_MEMORY_LIMIT", "262144", 1);
  expect_refused(model, {"--n-gpu-layers", "4"}, "4 GPU layers requested but only");
  ::unsetenv("R1_GPU_MEMORY_LIMIT");
}

TEST(gpu_runner_refusals, gpu_layers_without_gpus_or_kernels) {
  const std::string dense = make_model("qwen2", "F32");
  ::setenv("R1_NO_GPU", "1", 1);
  expect_refused(dense, {"--n-gpu-layers", "2"}, "GPUs are disabled");
  ::unsetenv("R1_NO_GPU");
  SKIP_WITHOUT_GPU();
  const std::string ds2 = make_model("deepseek2", "F32");
  expect_refused(ds2, {"--n-gpu-layers", "1"}, "runs on the CPU only");
  expect_refused(dense, {"--n-gpu-layers", "2", "--kv-type", "q8_0"}, "KV cache stays on the CPU");
  expect_refused(dense, {"--n-gpu-layers", "2", "--main-gpu", "99"}, "no GPU device with index 99");
}

}  // namespace
}  // namespace r1::runner_test
