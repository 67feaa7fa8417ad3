// GPU placement by r1d's scheduler, end to end: a real r1d, real r1-runner processes and tiny
// r1-mkmodel models on whatever GPU r1-runner lists (Mesa's lavapipe in CI). The GPU budget is
// made small with --gpu-memory-limit, sized from the model's own plan (/api/show "plan"), so
// that it holds two models, one, or less than one:
//   - two models fully on the GPU at once when the budget holds both (size_vram == size, both
//     runners alive, greedy text identical to CPU-only runs);
//   - a budget for one: loading the second evicts the idle first one, and waits while the first
//     is busy; /api/ps never shows more VRAM than the budget;
//   - a model bigger than the budget: the plan's partial offload (size_vram < size), and an
//     explicit layer count that cannot fit is refused with the planner's message.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <iostream>
#include <thread>

#include "r1/api/json_util.h"
#include "r1/test_support/daemon_process.h"

namespace {

using json = nlohmann::json;
using r1::test_support::daemon_process;
using namespace std::chrono_literals;

constexpr int kLayers = 2;  // layers of make_model's tiny qwen2

bool runner_lists_a_gpu() {
  auto r = r1::test_support::run_program({r1::test_support::bin("r1-runner"), "--list-devices"});
  json j = json::parse(r.out, nullptr, false);
  if (r.code != 0 || !j.is_object() || !j.contains("devices")) return false;
  for (const auto& d : j["devices"])
    if (d.value("backend", "") != "cpu") return true;
  return false;
}

struct result_text {
  bool ok = false;
  std::string text, error;
};

class daemon_gpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!runner_lists_a_gpu()) {
#ifdef R1_EXPECT_VULKAN_DEVICE
      FAIL() << "this build has Vulkan but r1-runner --list-devices shows no GPU (install mesa-vulkan-drivers)";
#else
      GTEST_SKIP() << "r1-runner --list-devices shows no GPU: nothing to place";
#endif
    }
    for (int seed : {1, 2}) {
      const std::string name = seed == 1 ? "alpha" : "beta";
      ASSERT_FALSE(r1::test_support::make_model(work_.path(), name, seed).empty()) << "r1-mkmodel failed";
    }
  }
  void TearDown() override {
    if (HasFailure() && daemon_) std::cerr << "---- r1d log ----\n" << daemon_->log() << "\n";
  }

  void start(std::vector<std::string> flags) {
    flags.insert(flags.end(), {"--context-length", "256", "--keep-alive=-1"});
    daemon_ = daemon_process::start(flags);
    ASSERT_TRUE(daemon_) << "r1d did not start";
  }
  // Registers <file>.gguf as `name` with num_gpu (-1: not set, the automatic count).
  void create(const std::string& name, const std::string& file, int num_gpu) {
    std::ofstream mf(work_ / "Modelfile");
    mf << "FROM ./" << file << ".gguf\nPARAMETER temperature 0\nPARAMETER num_predict 12\n";
    if (num_gpu >= 0) mf << "PARAMETER num_gpu " << num_gpu << "\n";
    mf.close();
    auto r = daemon_->cli({"create", name, "-f", work_ / "Modelfile"});
    ASSERT_EQ(r.code, 0) << r.err;
  }
  r1::api::client client() { return r1::api::client(daemon_->client_options()); }
  // The GPU bytes of the model's plan with the daemon's budget (first GPU share).
  uint64_t planned_gpu_bytes(const std::string& name) {
    auto shown = client().post("/api/show", json{{"model", name}, {"plan", true}});
    EXPECT_TRUE(shown.ok()) << shown.error().to_string();
    if (!shown.ok()) return 0;
    const json& plan = (*shown)["plan"];
    EXPECT_TRUE(plan.contains("devices")) << plan.dump();
    if (!plan.contains("devices") || plan["devices"].empty() || plan["devices"][0]["backend"] == "cpu") return 0;
    return plan["devices"][0]["total_bytes"].get<uint64_t>();
  }
  result_text generate(const std::string& name, int n_predict = 12);
  json ps() {
    auto p = client().get("/api/ps");
    EXPECT_TRUE(p.ok()) << p.error().to_string();
    return p.ok() ? (*p)["models"] : json::array();
  }
  static uint64_t total_vram(const json& models) {
    uint64_t sum = 0;
    for (const auto& m : models) sum += m["size_vram"].get<uint64_t>();
    return sum;
  }
  static const json* find(const json& models, const std::string& name) {
    for (const auto& m : models)
      if (m["name"] == name || m["name"] == name + ":latest") return &m;
    return nullptr;
  }
  // The full-offload GPU bytes of one model, from a daemon with a roomy budget.
  uint64_t full_offload_bytes() {
    start({"--gpu-memory-limit", "1GiB"});
    if (!daemon_) return 0;
    create("probe", "alpha", kLayers);
    const uint64_t t = planned_gpu_bytes("probe");
    daemon_->terminate();
    daemon_.reset();
    return t;
  }

  r1::test_support::temp_dir work_{"daemon-gpu"};
  std::unique_ptr<daemon_process> daemon_;
};

result_text daemon_gpu::generate(const std::string& name, int n_predict) {
  auto r = client().post("/api/generate", json{{"model", name},
                                               {"prompt", "Why is the sky blue?"},
                                               {"stream", false},
                                               {"options", {{"num_predict", n_predict}, {"temperature", 0}}}});
  if (!r.ok()) return {false, "", r.error().to_string()};
  // The R1 template opens a <think> block: a random-weight model's text lands in "thinking".
  return {true, r->value("thinking", "") + "|" + r->value("response", ""), ""};
}

bool pid_alive(int pid) { return pid > 0 && ::kill(pid, 0) == 0; }

}  // namespace

TEST_F(daemon_gpu, two_models_share_the_gpu_when_the_budget_holds_both) {
  const uint64_t t = full_offload_bytes();
  ASSERT_GT(t, 0u);
  const uint64_t budget = 2 * t + t / 4;
  start({"--gpu-memory-limit", std::to_string(budget), "--max-loaded-models", "4"});
  create("alpha", "alpha", kLayers);
  create("beta", "beta", kLayers);
  create("alpha-cpu", "alpha", 0);
  create("beta-cpu", "beta", 0);

  auto a = generate("alpha");
  ASSERT_TRUE(a.ok) << a.error;
  auto b = generate("beta");
  ASSERT_TRUE(b.ok) << b.error;
  json models = ps();
  ASSERT_EQ(models.size(), 2u) << models.dump();
  for (const auto& m : models) {
    SCOPED_TRACE(m.dump());
    const uint64_t vram = m["size_vram"].get<uint64_t>();
    EXPECT_GT(vram, 0u);
    EXPECT_EQ(vram, m["size"].get<uint64_t>());  // every layer and the head on the GPU
    EXPECT_LE(vram, t);                           // what the runner allocated stays within its plan
    ASSERT_EQ(m["devices"].size(), 1u);
    EXPECT_NE(m["devices"][0]["backend"], "cpu");
    EXPECT_EQ(m["devices"][0]["n_layers"], kLayers);
    EXPECT_TRUE(m["devices"][0]["output"].get<bool>());
    EXPECT_TRUE(pid_alive(m["pid"].get<int>()));
  }
  EXPECT_LE(total_vram(models), budget);
  ASSERT_NE(find(models, "alpha"), nullptr) << models.dump();
  ASSERT_NE(find(models, "beta"), nullptr) << models.dump();
  const int pid_a = (*find(models, "alpha"))["pid"].get<int>(), pid_b = (*find(models, "beta"))["pid"].get<int>();
  EXPECT_NE(pid_a, pid_b);
  // Both answer again from the same runners.
  auto a2 = generate("alpha");
  auto b2 = generate("beta");
  ASSERT_TRUE(a2.ok && b2.ok) << a2.error << b2.error;
  EXPECT_EQ(a2.text, a.text);
  EXPECT_EQ(b2.text, b.text);
  models = ps();
  ASSERT_NE(find(models, "alpha"), nullptr);
  ASSERT_NE(find(models, "beta"), nullptr);
  EXPECT_EQ((*find(models, "alpha"))["pid"], pid_a);
  EXPECT_EQ((*find(models, "beta"))["pid"], pid_b);

  // Greedy text equals the CPU-only runners' (same weights, num_gpu 0).
  auto a_cpu = generate("alpha-cpu");
  auto b_cpu = generate("beta-cpu");
  ASSERT_TRUE(a_cpu.ok && b_cpu.ok) << a_cpu.error << b_cpu.error;
  EXPECT_GT(a.text.size(), 12u) << a.text;
  EXPECT_EQ(a.text, a_cpu.text);
  EXPECT_EQ(b.text, b_cpu.text);
  EXPECT_NE(a.text, b.text);  // different weights: the test can tell the models apart
  models = ps();
  ASSERT_NE(find(models, "alpha-cpu"), nullptr) << models.dump();
  EXPECT_EQ((*find(models, "alpha-cpu"))["size_vram"], 0);
  EXPECT_TRUE((*find(models, "alpha-cpu"))["devices"].empty());
}

TEST_F(daemon_gpu, a_budget_for_one_model_evicts_the_idle_one_and_waits_for_a_busy_one) {
  const uint64_t t = full_offload_bytes();
  ASSERT_GT(t, 0u);
  const uint64_t budget = t + t / 2;
  start({"--gpu-memory-limit", std::to_string(budget)});
  create("alpha", "alpha", kLayers);
  create("beta", "beta", kLayers);

  ASSERT_TRUE(generate("alpha").ok);
  json models = ps();
  ASSERT_EQ(models.size(), 1u);
  const int pid_a = models[0]["pid"].get<int>();
  // alpha is idle: loading beta evicts it instead of sharing a GPU that holds only one.
  ASSERT_TRUE(generate("beta").ok);
  models = ps();
  ASSERT_EQ(models.size(), 1u) << models.dump();
  EXPECT_NE(find(models, "beta"), nullptr) << models.dump();
  EXPECT_EQ(models[0]["size_vram"], models[0]["size"]);
  EXPECT_LE(total_vram(models), budget);
  EXPECT_TRUE([&] {
    for (int i = 0; i < 100 && pid_alive(pid_a); ++i) std::this_thread::sleep_for(50ms);
    return !pid_alive(pid_a);
  }()) << "the evicted runner is still running";
  EXPECT_NE(daemon_->log().find("evicting alpha:latest to make room for beta:latest"), std::string::npos);

  // beta busy with a long answer: alpha waits for it instead of overcommitting the GPU.
  std::atomic<bool> beta_streaming{false};
  std::atomic<int64_t> beta_done_ns{0};
  auto beta = std::async(std::launch::async, [&] {
    auto st = client().stream("/api/generate",
                              json{{"model", "beta"},
                                   {"prompt", "Tell me a long story."},
                                   {"options", {{"num_predict", 48}, {"temperature", 0}}}},
                              [&](const json&) {
                                beta_streaming = true;
                                return true;
                              });
    beta_done_ns = r1::api::now_unix_ns();
    return st;
  });
  for (int i = 0; i < 400 && !beta_streaming; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(beta_streaming.load());
  std::atomic<bool> alpha_started{false};
  auto alpha = std::async(std::launch::async, [&] {
    alpha_started = true;
    auto r = generate("alpha");
    return std::make_pair(r, r1::api::now_unix_ns());
  });
  uint64_t peak = 0;
  bool both = false;
  while (alpha.wait_for(10ms) != std::future_status::ready) {
    json now = ps();
    peak = std::max(peak, total_vram(now));
    both = both || (find(now, "alpha") != nullptr && find(now, "beta") != nullptr);
  }
  auto [alpha_result, alpha_done_ns] = alpha.get();
  ASSERT_TRUE(beta.get().ok());
  ASSERT_TRUE(alpha_result.ok) << alpha_result.error;
  EXPECT_GE(alpha_done_ns, beta_done_ns.load()) << "alpha answered while beta still held the GPU";
  EXPECT_FALSE(both) << "alpha and beta were loaded together on a GPU that holds one";
  EXPECT_LE(peak, budget);
  models = ps();
  ASSERT_EQ(models.size(), 1u) << models.dump();
  EXPECT_NE(find(models, "alpha"), nullptr) << models.dump();
  EXPECT_LE(total_vram(models), budget);
}

TEST_F(daemon_gpu, a_model_bigger_than_the_budget_is_partially_offloaded) {
  // The budget of one layer: the plan of a model asking for exactly 1 GPU layer.
  start({"--gpu-memory-limit", "1GiB"});
  ASSERT_TRUE(daemon_);
  create("one", "alpha", 1);
  const uint64_t one_layer = planned_gpu_bytes("one");
  ASSERT_GT(one_layer, 0u);
  daemon_->terminate();
  daemon_.reset();

  // Automatic layer count (software GPUs allowed, as a real GPU would be): 1 of 2 layers fits.
  start({"--gpu-memory-limit", std::to_string(one_layer), "--gpu-software-devices", "true"});
  create("alpha", "alpha", -1);
  create("alpha-cpu", "alpha", 0);
  create("alpha-all", "alpha", kLayers);
  auto r = generate("alpha");
  ASSERT_TRUE(r.ok) << r.error;
  json models = ps();
  ASSERT_EQ(models.size(), 1u);
  const json& m = models[0];
  const uint64_t vram = m["size_vram"].get<uint64_t>(), size = m["size"].get<uint64_t>();
  EXPECT_GT(vram, 0u) << m.dump();
  EXPECT_LT(vram, size) << m.dump();
  EXPECT_LE(vram, one_layer) << m.dump();
  ASSERT_EQ(m["devices"].size(), 1u) << m.dump();
  EXPECT_EQ(m["devices"][0]["n_layers"], 1);
  EXPECT_FALSE(m["devices"][0]["output"].get<bool>());
  auto text = daemon_->cli({"ps"});
  EXPECT_NE(text.out.find("CPU/GPU"), std::string::npos) << text.out;
  auto cpu = generate("alpha-cpu");
  ASSERT_TRUE(cpu.ok) << cpu.error;
  EXPECT_EQ(r.text, cpu.text);

  // Both layers demanded: more than the budget, refused with the plan's sizes, nothing loaded.
  auto all = generate("alpha-all");
  EXPECT_FALSE(all.ok);
  EXPECT_NE(all.error.find("2 GPU layers requested but only"), std::string::npos) << all.error;
  EXPECT_EQ(find(ps(), "alpha-all"), nullptr);
}
