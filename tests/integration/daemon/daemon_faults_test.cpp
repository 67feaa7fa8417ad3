// Faults: a runner killed mid-stream, models over the limit, a full queue,
// 16 concurrent streaming clients, SIGTERM with loaded runners.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include "r1/test_support/daemon_process.h"

namespace {

using json = nlohmann::json;
using r1::test_support::daemon_process;
using namespace std::chrono_literals;

class daemon_faults : public ::testing::Test {
 protected:
  void start(const std::vector<std::string>& flags) {
    daemon_ = daemon_process::start(flags);
    ASSERT_TRUE(daemon_) << "r1d did not start";
  }
  void TearDown() override {
    if (HasFailure() && daemon_) std::cerr << "---- r1d log ----\n" << daemon_->log() << "\n";
  }
  void create(const std::string& name, int seed) {
    std::string path = r1::test_support::make_model(work_.path(), name, seed);
    ASSERT_FALSE(path.empty());
    std::ofstream(work_ / (name + ".Modelfile")) << "FROM ./" << name << ".gguf\n";
    auto r = daemon_->cli({"create", name, "-f", work_ / (name + ".Modelfile")});
    ASSERT_EQ(r.code, 0) << r.err;
  }
  r1::api::client client() { return r1::api::client(daemon_->client_options()); }
  int runner_pid(const std::string& model) {
    auto ps = client().get("/api/ps");
    if (!ps.ok()) return 0;
    for (const auto& m : (*ps)["models"])
      if (m["name"] == model) return m["pid"].get<int>();
    return 0;
  }

  r1::test_support::temp_dir work_{"faults"};
  std::unique_ptr<daemon_process> daemon_;
};

TEST_F(daemon_faults, a_runner_killed_mid_stream_ends_the_stream_with_an_error_and_the_daemon_recovers) {
  start({"--context-length", "4096"});
  create("victim", 3);
  auto c = client();
  int pid = 0;
  bool saw_done = false;
  r1::status st;
  // The random-weight model may sample its end token before the kill lands (the runner
  // runs ahead of a slow reader); such a run tests nothing, so it is tried again.
  for (int attempt = 0; attempt < 3; ++attempt) {
    int lines = 0;
    pid = 0;
    saw_done = false;
    st = c.stream("/api/generate",
                  json{{"model", "victim"}, {"prompt", "tell me a long story"}, {"think", false},
                       {"options", {{"num_predict", 4000}, {"temperature", 1.0}}}},
                  [&](const json& j) {
                    if (j.value("done", false)) saw_done = true;
                    if (++lines == 2) {
                      pid = runner_pid("victim:latest");
                      if (pid > 0) ::kill(pid, SIGKILL);
                    }
                    return true;
                  });
    if (!saw_done) break;
  }
  ASSERT_GT(pid, 0);
  EXPECT_FALSE(saw_done);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), r1::error_code::internal);  // the final {"error": ...} line
  EXPECT_NE(st.message().find("runner"), std::string::npos) << st.message();
  // The daemon is alive and the next request starts a fresh runner.
  auto again = c.post("/api/generate", json{{"model", "victim"}, {"prompt", "hi"}, {"stream", false}, {"think", false},
                                            {"options", {{"num_predict", 4}}}});
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ((*again)["done"], true);
  int pid2 = runner_pid("victim:latest");
  EXPECT_GT(pid2, 0);
  EXPECT_NE(pid2, pid);
  EXPECT_NE(daemon_->log().find("victim:latest pid " + std::to_string(pid)), std::string::npos);  // runner stderr is logged
}

TEST_F(daemon_faults, loading_over_the_model_limit_evicts_the_idle_model) {
  start({"--max-loaded-models", "1"});
  create("one", 1);
  create("two", 2);
  auto c = client();
  ASSERT_TRUE(c.post("/api/generate", json{{"model", "one"}}).ok());  // load only
  int pid1 = runner_pid("one:latest");
  ASSERT_GT(pid1, 0);
  ASSERT_TRUE(c.post("/api/generate", json{{"model", "two"}}).ok());
  auto ps = c.get("/api/ps");
  ASSERT_TRUE(ps.ok());
  ASSERT_EQ((*ps)["models"].size(), 1u);
  EXPECT_EQ((*ps)["models"][0]["name"], "two:latest");
  EXPECT_NE(::kill(pid1, 0), 0);  // the evicted runner's process is gone
}

TEST_F(daemon_faults, a_full_queue_answers_503_with_retry_after) {
  start({"--max-queue", "1", "--num-parallel", "1", "--context-length", "4096"});
  create("busy", 4);
  auto c = client();
  ASSERT_TRUE(c.post("/api/generate", json{{"model", "busy"}}).ok());  // loaded
  std::atomic<bool> streaming{false};
  std::thread long_request([&] {
    r1::api::client c2(daemon_->client_options());
    (void)c2.stream("/api/generate",
                    json{{"model", "busy"}, {"prompt", "go"}, {"think", false}, {"options", {{"num_predict", 3000}}}},
                    [&](const json&) {
                      streaming = true;
                      return true;
                    });
  });
  for (int i = 0; i < 200 && !streaming; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(streaming);
  httplib::Client raw("127.0.0.1", daemon_->port());
  auto res = raw.Post("/api/generate", R"({"model":"busy","prompt":"x","stream":false})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->get_header_value("Retry-After"), "1");
  EXPECT_NE(res->body.find("maximum pending requests"), std::string::npos);
  auto oai = raw.Post("/v1/chat/completions", R"({"model":"busy","messages":[{"role":"user","content":"x"}]})",
                      "application/json");
  ASSERT_TRUE(oai);
  EXPECT_EQ(oai->status, 503);
  EXPECT_NE(oai->body.find("\"type\""), std::string::npos);
  (void)c.post("/api/generate", json{{"model", "busy"}, {"keep_alive", 0}});
  daemon_->terminate();  // ends the long stream too
  long_request.join();
}

TEST_F(daemon_faults, sixteen_concurrent_streaming_clients_all_finish) {
  start({"--num-parallel", "4", "--context-length", "512"});
  create("crowd", 5);
  std::atomic<int> ok{0}, failed{0};
  std::mutex why_mu;
  std::string why;
  std::vector<std::thread> clients;
  for (int i = 0; i < 16; ++i) {
    clients.emplace_back([&, i] {
      r1::api::client c(daemon_->client_options());
      bool done = false;
      auto st = c.stream(i % 2 ? "/api/chat" : "/api/generate",
                         i % 2 ? json{{"model", "crowd"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}},
                                      {"options", {{"num_predict", 16}}}}
                               : json{{"model", "crowd"}, {"prompt", "hi"}, {"options", {{"num_predict", 16}}}},
                         [&](const json& j) {
                           done = done || j.value("done", false);
                           return true;
                         });
      (st.ok() && done ? ok : failed)++;
      if (!st.ok() || !done) {
        const std::lock_guard<std::mutex> lock(why_mu);
        why += "client " + std::to_string(i) + ": " + (st.ok() ? std::string("no done") : st.to_string()) + "\n";
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 16) << why;
  EXPECT_EQ(failed.load(), 0);
}

TEST_F(daemon_faults, sigterm_stops_runners_and_exits_cleanly) {
  start({});
  create("bye", 6);
  ASSERT_TRUE(client().post("/api/generate", json{{"model", "bye"}}).ok());
  int pid = runner_pid("bye:latest");
  ASSERT_GT(pid, 0);
  EXPECT_EQ(daemon_->terminate(), 0);
  EXPECT_NE(::kill(pid, 0), 0);
}

}  // namespace
