// Continuous batching in a real r1-runner: with --parallel 4 the generating slots are
// evaluated together in one forward pass per step. Concurrent requests must give exactly what
// the same requests give one at a time (greedy text and tokens, logprobs, stop strings,
// n_predict, a long prompt read in chunks while the others generate), and a client that hangs
// up frees its slot while the other streams run on unchanged.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "r1/test_support/temp_dir.h"
#include "runner_process.h"
#include "test_model.h"

namespace r1::runner_test {
namespace {

using json = nlohmann::json;

std::string make_batch_model(const test_support::temp_dir& dir, const std::string& name, uint32_t n_embd,
                             uint32_t n_layer) {
  return write_test_model(dir / name, n_embd, n_layer, 17);
}

json post(int port, const json& body) {
  auto r = http_request(port, "POST", "/completion", body.dump(), 120000);
  if (!r.ok()) return json{{"error", r.error().to_string()}};
  json j = json::parse(r->body, nullptr, false);
  if (r->status != 200) j["http_status"] = r->status;
  return j;
}

// A long prompt (a few hundred tokens) that is read in chunks while other slots generate.
std::string long_prompt() {
  std::string p = "Here is a long list of things to remember:";
  for (int i = 0; i < 60; ++i) p += " item " + std::to_string(i) + " is blue,";
  return p;
}

std::vector<json> requests() {
  std::vector<json> r;
  r.push_back({{"prompt", "The capital of France is"}, {"n_predict", 48}, {"temperature", 0}, {"stream", false}});
  r.push_back({{"prompt", "Once upon a time"}, {"n_predict", 40}, {"temperature", 0}, {"n_probs", 3}, {"stream", false}});
  r.push_back({{"prompt", long_prompt()}, {"n_predict", 32}, {"temperature", 0}, {"stream", false}});
  r.push_back({{"prompt_tokens", {11, 220, 33, 1000, 7, 250}}, {"n_predict", 56}, {"temperature", 0}, {"stream", false}});
  return r;
}

TEST(runner_batching, four_concurrent_greedy_completions_equal_the_same_four_one_at_a_time) {
  test_support::temp_dir dir("runner-batch");
  const std::string path = make_batch_model(dir, "b.gguf", 256, 3);
  // --batch 64: a turn reads at most 64 prompt tokens, 16 minus the generating slots while some
  // generate, so the long prompt is read in many chunks beside the other streams.
  auto p = runner_process::start(
      {"--model", path, "--ctx", "1024", "--parallel", "4", "--threads", "2", "--batch", "64"});
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  ASSERT_TRUE((*p)->wait_ready().ok());
  const int port = (*p)->port();
  std::vector<json> reqs = requests();
  // A stop string taken from request 0's own greedy text: cut at the same place either way.
  std::vector<json> alone;
  for (const json& r : reqs) alone.push_back(post(port, r));
  const std::string text0 = alone[0].value("content", "");
  ASSERT_GT(text0.size(), 20u) << alone[0].dump();
  json stop_req = reqs[0];
  stop_req["stop"] = {text0.substr(text0.size() / 2, 3)};
  reqs.push_back(stop_req);
  alone.push_back(post(port, stop_req));
  EXPECT_EQ(alone.back().value("stop_reason", ""), "stop") << alone.back().dump();

  // All five at once (four slots: the fifth waits for a free one); twice, so the second round
  // starts from slots whose caches hold other requests' tokens.
  for (int round = 0; round < 2; ++round) {
    std::vector<std::future<json>> futs;
    for (const json& r : reqs) futs.push_back(std::async(std::launch::async, [port, r] { return post(port, r); }));
    for (size_t i = 0; i < reqs.size(); ++i) {
      const json got = futs[i].get();
      const json& want = alone[i];
      ASSERT_FALSE(got.contains("error")) << got.dump();
      EXPECT_EQ(got["tokens"], want["tokens"]) << "request " << i << " round " << round;
      EXPECT_EQ(got["content"], want["content"]) << "request " << i << " round " << round;
      EXPECT_EQ(got["stop_reason"], want["stop_reason"]) << "request " << i;
      EXPECT_EQ(got["timings"]["predicted_n"], want["timings"]["predicted_n"]) << "request " << i;
      EXPECT_EQ(got["timings"]["prompt_tokens"], want["timings"]["prompt_tokens"]) << "request " << i;
      if (want.contains("probs")) {
        ASSERT_EQ(got["probs"].size(), want["probs"].size());
        for (size_t k = 0; k < want["probs"].size(); ++k) {
          EXPECT_EQ(got["probs"][k]["id"], want["probs"][k]["id"]);
          EXPECT_NEAR(got["probs"][k]["logprob"].get<double>(), want["probs"][k]["logprob"].get<double>(), 1e-4);
        }
      }
    }
  }
  EXPECT_GT(alone[2]["timings"]["prompt_tokens"].get<int>(), 300);  // read in several chunks
  EXPECT_EQ(alone[3]["tokens"].size(), 56u);
  EXPECT_EQ((*p)->terminate(), 0);
}

TEST(runner_batching, a_client_that_hangs_up_frees_its_slot_while_the_others_continue) {
  test_support::temp_dir dir("runner-batch-cancel");
  const std::string path = make_batch_model(dir, "w.gguf", 512, 4);
  auto p = runner_process::start({"--model", path, "--ctx", "2048", "--parallel", "2", "--threads", "2"});
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  ASSERT_TRUE((*p)->wait_ready().ok());
  const int port = (*p)->port();
  const json keep = {{"prompt", "tell me a story"}, {"n_predict", 900}, {"temperature", 0}};
  const json drop = {{"prompt", "tell me something else"}, {"n_predict", 900}, {"temperature", 0}};
  // The kept request alone: its tokens and how long it takes.
  json keep_alone = keep;
  keep_alone["stream"] = false;
  auto t0 = std::chrono::steady_clock::now();
  const json solo = post(port, keep_alone);
  const auto solo_time = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(solo["tokens"].size(), 900u) << solo.dump();

  // Both slots busy; then one client hangs up. A third request can only be served in that
  // slot, long before the kept stream (which runs beside it) could have finished.
  auto kept = http_stream::open(port, "/completion", keep.dump());
  auto dropped = http_stream::open(port, "/completion", drop.dump());
  ASSERT_TRUE(kept.ok() && dropped.ok());
  std::vector<int32_t> tokens;
  json last;
  auto first = (*kept)->next_line();
  ASSERT_TRUE(first.has_value());
  last = json::parse(*first);
  for (const auto& t : last["tokens"]) tokens.push_back(t.get<int32_t>());
  ASSERT_TRUE((*dropped)->next_line().has_value());
  (*dropped)->close();
  t0 = std::chrono::steady_clock::now();
  const json small = post(port, {{"prompt", "hi"}, {"n_predict", 3}, {"temperature", 0}, {"stream", false}});
  const auto small_time = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(small["tokens"].size(), 3u) << small.dump();
  EXPECT_LT(small_time * 3, solo_time) << "the abandoned generation kept its slot busy";

  // The kept stream went on beside all of this and produced exactly its solo tokens.
  while (auto line = (*kept)->next_line()) {
    last = json::parse(*line);
    for (const auto& t : last["tokens"]) tokens.push_back(t.get<int32_t>());
  }
  EXPECT_TRUE(last.value("done", false)) << last.dump();
  EXPECT_EQ(tokens, solo["tokens"].get<std::vector<int32_t>>());
  EXPECT_TRUE((*p)->alive());
  EXPECT_EQ((*p)->terminate(), 0);
}

}  // namespace
}  // namespace r1::runner_test
