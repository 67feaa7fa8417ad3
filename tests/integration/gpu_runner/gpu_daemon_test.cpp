// GPU offload seen from r1d: a model created with `PARAMETER num_gpu 1` (1 of its 2 layers on the
// GPU) loads through the daemon's real runner; /api/ps size_vram is what that runner reports
// (a runner started here with the same load options reports the same bytes on /info), `r1 ps`
// shows the CPU/GPU split, /api/show {"plan": true} and `r1 show --plan` give the memory plan,
// and a daemon whose GPU budget is capped (--gpu-memory-limit, R1_GPU_MEMORY_LIMIT) refuses to
// load more GPU layers than fit, with the plan's message, instead of falling back to the CPU.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>

#include "r1/api/json_util.h"
#include "r1/test_support/daemon_process.h"
#include "runner_process.h"

namespace {

using json = nlohmann::json;
using r1::test_support::daemon_process;
using r1::test_support::bin;
using r1::test_support::make_model;
using r1::test_support::run_program;

bool runner_lists_a_gpu() {
  auto r = run_program({bin("r1-runner"), "--list-devices"});
  json j = json::parse(r.out, nullptr, false);
  if (r.code != 0 || !j.is_object()) return false;
  for (const auto& d : j["devices"])
    if (d["backend"] != "cpu") return true;
  return false;
}

class gpu_daemon : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!runner_lists_a_gpu()) GTEST_SKIP() << "r1-runner --list-devices shows no GPU: nothing to offload";
    model_path_ = make_model(work_.path(), "demo");
    ASSERT_FALSE(model_path_.empty()) << "r1-mkmodel failed";
  }
  void TearDown() override {
    if (HasFailure() && daemon_) std::cerr << "---- r1d log ----\n" << daemon_->log() << "\n";
  }
  void create(const std::string& name, int num_gpu) {
    std::ofstream(work_ / "Modelfile") << "FROM ./demo.gguf\nPARAMETER num_predict 8\nPARAMETER num_gpu "
                                       << num_gpu << "\n";
    auto r = daemon_->cli({"create", name, "-f", work_ / "Modelfile"});
    ASSERT_EQ(r.code, 0) << r.err;
  }
  r1::api::client client() { return r1::api::client(daemon_->client_options()); }

  r1::test_support::temp_dir work_{"gpu-daemon"};
  std::string model_path_;
  std::unique_ptr<daemon_process> daemon_;
};

TEST_F(gpu_daemon, size_vram_is_what_the_runner_placed_and_show_plan_says_where) {
  daemon_ = daemon_process::start({"--context-length", "512"});
  ASSERT_TRUE(daemon_) << "r1d did not start";
  create("demo", 1);

  auto plan_text = daemon_->cli({"show", "demo", "--plan"});
  ASSERT_EQ(plan_text.code, 0) << plan_text.err;
  EXPECT_NE(plan_text.out.find("layers on GPU: 1/2"), std::string::npos) << plan_text.out;
  EXPECT_NE(plan_text.out.find("cpu"), std::string::npos) << plan_text.out;
  auto c = client();
  auto shown = c.post("/api/show", json{{"model", "demo"}, {"plan", true}});
  ASSERT_TRUE(shown.ok()) << shown.error().to_string();
  const json& plan = (*shown)["plan"];
  EXPECT_EQ(plan["n_layer"], 2);
  EXPECT_EQ(plan["n_gpu_layers"], 1);
  ASSERT_EQ(plan["devices"].size(), 2u) << plan.dump();
  EXPECT_NE(plan["devices"][0]["backend"], "cpu");
  EXPECT_EQ(plan["devices"][1]["backend"], "cpu");
  EXPECT_FALSE(c.post("/api/show", json{{"model", "demo"}}).value().contains("plan"));
  auto bad = c.post("/api/show", json{{"model", "demo"}, {"plan", "yes"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("plan"), std::string::npos) << bad.error().message();

  auto run = daemon_->cli({"run", "demo", "Why is the sky blue?"});
  ASSERT_EQ(run.code, 0) << run.err;
  auto ps = c.get("/api/ps");
  ASSERT_TRUE(ps.ok());
  ASSERT_EQ((*ps)["models"].size(), 1u) << ps->dump();
  const json& m = (*ps)["models"][0];
  const uint64_t size_vram = m["size_vram"].get<uint64_t>();
  EXPECT_GT(size_vram, 0u);
  EXPECT_LT(size_vram, m["size"].get<uint64_t>());
  auto ps_text = daemon_->cli({"ps"});
  EXPECT_NE(ps_text.out.find("CPU/GPU"), std::string::npos) << ps_text.out;
  // --verbose names where the layers are: the GPU's first layer, then the CPU for the rest.
  ASSERT_EQ(m["devices"].size(), 1u) << m.dump();
  const json& dev = m["devices"][0];
  EXPECT_EQ(dev["first_layer"], 0);
  EXPECT_EQ(dev["n_layers"], 1);
  const std::string where = dev["backend"].get<std::string>() + std::to_string(dev["index"].get<int>()) + ":0-0,cpu";
  auto ps_verbose = daemon_->cli({"ps", "--verbose"});
  ASSERT_EQ(ps_verbose.code, 0) << ps_verbose.err;
  EXPECT_NE(ps_verbose.out.find(where), std::string::npos) << ps_verbose.out;

  // The same load options on a runner of our own: its /info gives the same bytes.
  auto own = r1::runner_test::runner_process::start({"--model", model_path_, "--ctx",
                                                     std::to_string(m["context_length"].get<int>()), "--parallel", "1",
                                                     "--kv-type", "f16", "--threads", "2", "--n-gpu-layers", "1"});
  ASSERT_TRUE(own.ok()) << own.error().to_string();
  ASSERT_TRUE((*own)->wait_ready(60000).ok());
  auto info = r1::runner_test::http_request((*own)->port(), "GET", "/info");
  ASSERT_TRUE(info.ok());
  json ij = json::parse(info->body, nullptr, false);
  EXPECT_EQ(ij["vram_bytes"].get<uint64_t>(), size_vram) << ij.dump();
  EXPECT_EQ(ij["n_gpu_layers"], 1);
}

TEST_F(gpu_daemon, more_gpu_layers_than_fit_are_refused) {
  daemon_ = daemon_process::start({"--context-length", "512", "--gpu-memory-limit", "64KiB"});
  ASSERT_TRUE(daemon_) << "r1d did not start";
  create("demo", 2);
  auto plan = daemon_->cli({"show", "demo", "--plan"});
  EXPECT_NE(plan.code, 0);
  EXPECT_NE(plan.err.find("2 GPU layers requested but only"), std::string::npos) << plan.err;
  auto run = daemon_->cli({"run", "demo", "Why is the sky blue?"});
  EXPECT_NE(run.code, 0);
  EXPECT_NE(run.err.find("2 GPU layers requested but only"), std::string::npos) << run.err;
  auto ps = client().get("/api/ps");
  ASSERT_TRUE(ps.ok());
  EXPECT_TRUE((*ps)["models"].empty()) << ps->dump();
}

}  // namespace
