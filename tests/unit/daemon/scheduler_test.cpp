// The scheduler with real child processes: a small script that speaks the
// runner protocol (stub_runner.py) stands in for r1-runner, its behaviour set
// by the JSON "model" file it is given.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <thread>

#include "r1/daemon/scheduler.h"
#include "r1/test_support/temp_dir.h"

namespace d = r1::daemon;
using namespace std::chrono_literals;

namespace {

class scheduler_test : public ::testing::Test {
 protected:
  void SetUp() override {
    launcher_ = d::make_process_launcher(std::string(R1_SOURCE_DIR) + "/tests/unit/daemon/stub_runner.py");
  }
  // A "model" whose file tells the stub how to behave.
  d::load_spec model(const std::string& key, const std::string& behaviour, uint64_t bytes = 1000) {
    std::string path = dir_ / (key + ".json");
    std::ofstream(path) << behaviour;
    d::load_spec s;
    s.key = key;
    s.digest = "sha256:" + key;
    s.model_paths = {path};
    s.num_ctx = 256;
    s.estimated_bytes = bytes;
    return s;
  }
  std::unique_ptr<d::scheduler> make(d::scheduler_options o = {}) {
    o.load_timeout = 10s;
    return std::make_unique<d::scheduler>(o, *launcher_);
  }
  static bool pid_alive(int pid) { return ::kill(pid, 0) == 0; }
  static bool wait_until(const std::function<bool()>& f, std::chrono::milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (f()) return true;
      std::this_thread::sleep_for(20ms);
    }
    return f();
  }
  static int complete_tokens(const d::lease& l, int n_predict = -1) {
    d::rp::completion_request req;
    req.prompt = "hi";
    req.n_predict = n_predict;
    int tokens = 0;
    auto st = l.runner().complete(req, [&](const d::rp::completion_chunk& c) {
      tokens += static_cast<int>(c.tokens.size());
      return true;
    });
    return st.ok() ? tokens : -1;
  }

  r1::test_support::temp_dir dir_{"sched"};
  std::unique_ptr<d::runner_launcher> launcher_;
};

}  // namespace

TEST_F(scheduler_test, loads_once_and_reuses_the_runner) {
  auto s = make();
  auto spec = model("a", R"({"tokens": 4})");
  int pid = 0;
  {
    auto l = s->acquire(spec, 60000, nullptr);
    ASSERT_TRUE(l.ok()) << l.error().to_string();
    pid = (*l)->pid();
    EXPECT_EQ(complete_tokens(**l), 4);
  }
  auto l2 = s->acquire(spec, 60000, nullptr);
  ASSERT_TRUE(l2.ok());
  EXPECT_EQ((*l2)->pid(), pid);
  auto ps = s->list();
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].key, "a");
  EXPECT_EQ(ps[0].active, 1);
  EXPECT_GT(ps[0].expires_unix_ns, 0);
}

TEST_F(scheduler_test, keep_alive_zero_unloads_when_idle_and_expiry_unloads_later) {
  auto s = make();
  int pid0 = 0, pid1 = 0;
  {
    auto l = s->acquire(model("zero", "{}"), 0, nullptr);
    ASSERT_TRUE(l.ok());
    pid0 = (*l)->pid();
  }
  EXPECT_TRUE(s->list().empty());
  EXPECT_TRUE(wait_until([&] { return !pid_alive(pid0); }, 3s));
  {
    auto l = s->acquire(model("short", "{}"), 300, nullptr);
    ASSERT_TRUE(l.ok());
    pid1 = (*l)->pid();
  }
  EXPECT_EQ(s->list().size(), 1u);
  EXPECT_TRUE(wait_until([&] { return s->list().empty(); }, 3s));
  EXPECT_TRUE(wait_until([&] { return !pid_alive(pid1); }, 3s));
}

TEST_F(scheduler_test, evicts_the_least_recently_used_idle_model) {
  d::scheduler_options o;
  o.max_loaded = 2;
  auto s = make(o);
  ASSERT_TRUE(s->acquire(model("m1", "{}"), -1, nullptr).ok());
  std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(s->acquire(model("m2", "{}"), -1, nullptr).ok());
  ASSERT_TRUE(s->acquire(model("m1", "{}"), -1, nullptr).ok());  // m1 is now the most recent
  ASSERT_TRUE(s->acquire(model("m3", "{}"), -1, nullptr).ok());
  std::set<std::string> loaded;
  for (const auto& m : s->list()) loaded.insert(m.key);
  EXPECT_EQ(loaded, (std::set<std::string>{"m1", "m3"}));
}

TEST_F(scheduler_test, memory_budget_evicts_and_busy_models_make_loads_wait) {
  d::scheduler_options o;
  o.memory_budget = 1500;
  auto s = make(o);
  auto big1 = model("big1", R"({"weights_bytes": 0})", 1000);
  auto big2 = model("big2", R"({"weights_bytes": 0})", 1000);
  auto held = s->acquire(big1, -1, nullptr);
  ASSERT_TRUE(held.ok());
  auto t0 = std::chrono::steady_clock::now();
  auto other = std::async(std::launch::async, [&] { return s->acquire(big2, -1, nullptr); });
  // big2 cannot fit while big1 is busy.
  EXPECT_EQ(other.wait_for(500ms), std::future_status::timeout);
  held.value().reset();  // big1 becomes idle and is evicted
  auto l2 = other.get();
  ASSERT_TRUE(l2.ok()) << l2.error().to_string();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 500ms);
  auto ps = s->list();
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].key, "big2");
}

TEST_F(scheduler_test, a_full_queue_is_resource_exhausted) {
  d::scheduler_options o;
  o.max_queue = 2;
  auto s = make(o);
  auto spec = model("q", "{}");
  auto first = s->acquire(spec, -1, nullptr);  // parallel 1: holds the only slot
  ASSERT_TRUE(first.ok());
  auto second = std::async(std::launch::async, [&] { return s->acquire(spec, -1, nullptr); });
  ASSERT_TRUE(wait_until([&] { return !s->list().empty() && s->list()[0].queued == 1; }, 3s));
  auto third = s->acquire(spec, -1, nullptr);
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code(), r1::error_code::resource_exhausted);
  EXPECT_NE(third.error().message().find("maximum pending requests"), std::string::npos);
  first.value().reset();
  EXPECT_TRUE(second.get().ok());
}

TEST_F(scheduler_test, a_killed_runner_fails_its_request_and_the_next_one_restarts_it) {
  auto s = make();
  auto spec = model("crash", R"({"tokens": 200, "token_delay_ms": 10})");
  int pid = 0;
  {
    auto l = s->acquire(spec, -1, nullptr);
    ASSERT_TRUE(l.ok());
    pid = (*l)->pid();
    std::thread killer([pid] {
      std::this_thread::sleep_for(200ms);
      ::kill(pid, SIGKILL);
    });
    d::rp::completion_request req;
    req.prompt = "x";
    int chunks = 0;
    auto st = (*l)->runner().complete(req, [&](const d::rp::completion_chunk&) {
      ++chunks;
      return true;
    });
    killer.join();
    EXPECT_GT(chunks, 0);
    EXPECT_EQ(st.code(), r1::error_code::unavailable) << st.to_string();
  }
  EXPECT_TRUE(wait_until([&] { return s->list().empty(); }, 3s));  // the dead runner is dropped at once
  auto again = s->acquire(spec, -1, nullptr);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_NE((*again)->pid(), pid);
  EXPECT_EQ(complete_tokens(**again, 3), 3);
}

TEST_F(scheduler_test, load_failures_are_reported) {
  auto s = make();
  auto bad = s->acquire(model("bad", R"({"fail_load": true})"), -1, nullptr);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("bad weights"), std::string::npos);
  auto dies = s->acquire(model("dies", R"({"exit_on_start": 3})"), -1, nullptr);
  ASSERT_FALSE(dies.ok());
  EXPECT_NE(dies.error().message().find("exit code 3"), std::string::npos);
  EXPECT_TRUE(s->list().empty());
  auto missing = d::make_process_launcher("/nonexistent/r1-runner");
  d::scheduler s2({}, *missing);
  auto nf = s2.acquire(model("x", "{}"), -1, nullptr);
  EXPECT_EQ(nf.error().code(), r1::error_code::not_found);
}

TEST_F(scheduler_test, a_slow_load_does_not_block_other_models) {
  auto s = make();
  auto slow = std::async(std::launch::async, [&] { return s->acquire(model("slow", R"({"load_ms": 1500})"), -1, nullptr); });
  std::this_thread::sleep_for(100ms);
  auto t0 = std::chrono::steady_clock::now();
  auto fast = s->acquire(model("fast", "{}"), -1, nullptr);
  ASSERT_TRUE(fast.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1000ms);
  EXPECT_EQ(slow.wait_for(0ms), std::future_status::timeout);
  EXPECT_TRUE(slow.get().ok());
}

TEST_F(scheduler_test, unload_and_shutdown_stop_the_processes) {
  auto s = make();
  int pid = 0;
  {
    auto l = s->acquire(model("u", "{}"), -1, nullptr);
    ASSERT_TRUE(l.ok());
    pid = (*l)->pid();
  }
  EXPECT_TRUE(s->unload("u").ok());
  EXPECT_TRUE(wait_until([&] { return !pid_alive(pid); }, 3s));
  EXPECT_EQ(s->unload("u").code(), r1::error_code::not_found);
  {
    auto l = s->acquire(model("v", "{}"), -1, nullptr);
    ASSERT_TRUE(l.ok());
    pid = (*l)->pid();
  }
  s->shutdown();
  EXPECT_FALSE(pid_alive(pid));
  EXPECT_EQ(s->acquire(model("w", "{}"), -1, nullptr).error().code(), r1::error_code::unavailable);
}
