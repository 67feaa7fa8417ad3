// The scheduler's per-device accounting with real child processes: the protocol stub
// (stub_runner.py) reports the GPU bytes its "model" file says and echoes the GPU flags it was
// started with; the placement hook gives one GPU and the real planner's plan of the Qwen2-7B
// shape (seven_b_shape.h), so each stub stands for a 7B model fully on the GPU.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <future>
#include <set>
#include <thread>

#include "r1/daemon/scheduler.h"
#include "r1/test_support/temp_dir.h"
#include "seven_b_shape.h"

namespace d = r1::daemon;
using namespace r1::daemon_test;
using namespace std::chrono_literals;

namespace {

class scheduler_gpu_test : public ::testing::Test {
 protected:
  void SetUp() override {
    launcher_ = d::make_process_launcher(std::string(R1_SOURCE_DIR) + "/tests/unit/daemon/stub_runner.py");
  }
  // A stub "model" that reports the 7B plan's full GPU bytes once loaded.
  d::load_spec model(const std::string& key, int num_gpu = -1) {
    std::string path = dir_ / (key + ".json");
    std::ofstream(path) << R"({"weights_bytes": 1000, "vram_bytes": )" << full_gpu_bytes() << R"(, "n_layer": 28})";
    d::load_spec s;
    s.key = key;
    s.digest = "sha256:" + key;
    s.model_paths = {path};
    s.num_ctx = 2048;
    s.num_gpu = num_gpu;
    s.estimated_bytes = full_gpu_bytes() + seven_b().embd;  // the whole model
    return s;
  }
  // One GPU of `capacity` bytes; every model is the 7B shape.
  std::unique_ptr<d::scheduler> make(uint64_t capacity, d::scheduler_options o = {}) {
    o.load_timeout = 10s;
    o.gpu = [capacity](const d::load_spec& spec) -> r1::result<d::gpu_inputs> {
      d::gpu_inputs in;
      in.devices = {{"cuda", 0, "card", false, capacity}};
      in.plan = plan_for(spec.num_gpu);
      in.num_gpu = spec.num_gpu;
      return in;
    };
    return std::make_unique<d::scheduler>(o, *launcher_);
  }
  static const d::loaded_model* find(const std::vector<d::loaded_model>& v, const std::string& key) {
    for (const auto& m : v)
      if (m.key == key) return &m;
    return nullptr;
  }
  static std::string flags_seen(const d::loaded_model& m) {
    return m.devices.empty() ? std::string("none") : m.devices[0].name;
  }

  r1::test_support::temp_dir dir_{"sched-gpu"};
  std::unique_ptr<d::runner_launcher> launcher_;
};

// The CPU share of the 7B shape fully offloaded: token embedding + host scratch.
uint64_t host_share() {
  return seven_b().embd + planner::scratch_bytes(seven_b().p, seven_b().r, false);
}

}  // namespace

TEST_F(scheduler_gpu_test, two_models_share_a_gpu_that_holds_both_and_the_second_gets_what_is_left) {
  const uint64_t full = full_gpu_bytes(), cap = 2 * full + 10 * MiB;
  auto s = make(cap);
  ASSERT_TRUE(s->acquire(model("m1"), -1, nullptr).ok());
  ASSERT_TRUE(s->acquire(model("m2"), -1, nullptr).ok());
  auto ps = s->list();
  ASSERT_EQ(ps.size(), 2u);
  const auto* m1 = find(ps, "m1");
  const auto* m2 = find(ps, "m2");
  ASSERT_TRUE(m1 && m2);
  EXPECT_EQ(flags_seen(*m1), "ngl=-1 limit=" + std::to_string(cap));
  EXPECT_EQ(flags_seen(*m2), "ngl=-1 limit=" + std::to_string(cap - full));
  for (const auto* m : {m1, m2}) {
    EXPECT_EQ(m->size_vram, full);
    EXPECT_EQ(m->size, m->size_vram);  // every layer and the head on the GPU
    EXPECT_EQ(m->host_bytes, host_share());
  }
}

TEST_F(scheduler_gpu_test, the_host_budget_counts_only_the_host_share) {
  d::scheduler_options o;
  o.memory_budget = 2 * host_share() + 1;  // far less than two whole models
  auto s = make(3 * full_gpu_bytes(), o);
  ASSERT_TRUE(s->acquire(model("m1"), -1, nullptr).ok());
  ASSERT_TRUE(s->acquire(model("m2"), -1, nullptr).ok());
  EXPECT_EQ(s->list().size(), 2u);
  ASSERT_TRUE(s->acquire(model("m3"), -1, nullptr).ok());  // a third host share does not fit
  auto ps = s->list();
  EXPECT_EQ(ps.size(), 2u);
  EXPECT_EQ(find(ps, "m1"), nullptr);  // least recently used
}

TEST_F(scheduler_gpu_test, a_gpu_for_one_model_evicts_the_idle_one_and_waits_for_a_busy_one) {
  const uint64_t full = full_gpu_bytes(), cap = full + full / 2;
  auto s = make(cap);
  ASSERT_TRUE(s->acquire(model("m1"), -1, nullptr).ok());
  ASSERT_TRUE(s->acquire(model("m2"), -1, nullptr).ok());  // m1 idle: evicted
  auto ps = s->list();
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].key, "m2");
  EXPECT_EQ(flags_seen(ps[0]), "ngl=-1 limit=" + std::to_string(cap));  // the whole GPU again

  auto held = s->acquire(model("m2"), -1, nullptr);
  ASSERT_TRUE(held.ok());
  auto other = std::async(std::launch::async, [&] { return s->acquire(model("m1"), -1, nullptr); });
  EXPECT_EQ(other.wait_for(600ms), std::future_status::timeout);  // m2 is busy on the GPU
  ps = s->list();
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].key, "m2");
  held.value().reset();
  auto l1 = other.get();
  ASSERT_TRUE(l1.ok()) << l1.error().to_string();
  ps = s->list();
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].key, "m1");
}

TEST_F(scheduler_gpu_test, a_count_that_cannot_fit_fails_before_any_runner_starts) {
  auto s = make(2048 * MiB);
  auto l = s->acquire(model("big", 27), -1, nullptr);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().code(), r1::error_code::unavailable);
  EXPECT_NE(l.error().message().find("27 GPU layers requested but only"), std::string::npos) << l.error().message();
  EXPECT_TRUE(s->list().empty());
  // A count that fits is passed as asked, with the budget.
  auto ok = s->acquire(model("small", 4), -1, nullptr);
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  auto ps = s->list();
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(flags_seen(ps[0]), "ngl=4 limit=" + std::to_string(2048 * MiB));
}
