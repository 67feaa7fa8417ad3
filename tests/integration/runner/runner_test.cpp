// r1-runner as a real process on a loopback port, driven over real HTTP: health while
// loading, info, tokenize/detokenize, completions (text, tokens, chat messages with the R1
// template and reasoning split, streaming with logprobs, prompt logprobs, stop strings,
// prompt-prefix reuse), embeddings, malformed requests, garbage on the socket, a client that
// hangs up mid-stream, and SIGTERM during a stream.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "r1/engine/context.h"
#include "r1/engine/model.h"
#include "r1/test_support/temp_dir.h"
#include "runner_process.h"
#include "test_model.h"

namespace r1::runner_test {
namespace {

using json = nlohmann::json;

struct shared_model {
  test_support::temp_dir dir{"runner-it"};
  std::string path;
};

shared_model* g_model = nullptr;

std::string make(const std::string& name, uint32_t n_embd, uint32_t n_layer) {
  return write_test_model(g_model->dir / name, n_embd, n_layer, 3);
}

class runner : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_model = new shared_model();
    g_model->path = make("small.gguf", 128, 2);
  }
  static void TearDownTestSuite() {
    delete g_model;
    g_model = nullptr;
  }
  void SetUp() override {
    auto p = runner_process::start({"--model", g_model->path, "--ctx", "512", "--parallel", "2", "--threads", "2"});
    ASSERT_TRUE(p.ok()) << p.error().to_string();
    proc_ = std::move(*p);
    ASSERT_TRUE(proc_->wait_ready().ok());
  }
  json post(const std::string& path, const json& body, int expect = 200) {
    auto r = http_request(proc_->port(), "POST", path, body.dump());
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return json();
    EXPECT_EQ(r->status, expect) << r->body;
    return json::parse(r->body, nullptr, false);
  }
  std::unique_ptr<runner_process> proc_;
};

TEST_F(runner, health_info_tokenize_detokenize) {
  auto h = http_request(proc_->port(), "GET", "/health");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(json::parse(h->body)["status"], "ready");
  auto i = http_request(proc_->port(), "GET", "/info");
  ASSERT_TRUE(i.ok());
  json info = json::parse(i->body);
  EXPECT_EQ(info["architecture"], "qwen2");
  EXPECT_EQ(info["n_ctx"], 512);
  EXPECT_EQ(info["n_parallel"], 2);
  EXPECT_EQ(info["kv_type"], "f16");
  EXPECT_GT(info["kv_bytes"].get<uint64_t>(), 0u);
  EXPECT_TRUE(info["has_chat_template"].get<bool>());
  json t = post("/tokenize", {{"content", "Hello world"}, {"with_pieces", true}});
  ASSERT_FALSE(t["tokens"].empty());
  EXPECT_EQ(t["pieces"].size(), t["tokens"].size());
  json d = post("/detokenize", {{"tokens", t["tokens"]}});
  EXPECT_EQ(d["content"], "Hello world");
  post("/detokenize", {{"tokens", {1, 999999}}}, 400);
}

TEST_F(runner, greedy_completion_matches_the_engine_in_process) {
  json r = post("/completion", {{"prompt", "The capital of France is"},
                                {"n_predict", 12},
                                {"stream", false},
                                {"temperature", 0}});
  ASSERT_EQ(r["tokens"].size(), 12u) << r.dump();
  EXPECT_EQ(r["stop_reason"], "length");
  EXPECT_TRUE(r["done"].get<bool>());
  // The same greedy continuation computed here with the engine library.
  auto m = engine::model::load({g_model->path});
  ASSERT_TRUE(m.ok());
  auto ctx = engine::context::create(**m, {.n_ctx = 512, .n_seq = 1, .kv_type = tensor_type::f16, .n_threads = 1});
  ASSERT_TRUE(ctx.ok());
  std::vector<int32_t> seq = (*m)->tok().encode("The capital of France is", {.add_special = true, .parse_special = true});
  std::vector<float> logits;
  ASSERT_TRUE((*ctx)->decode(0, seq, 0, engine::logits_mode::last, logits).ok());
  std::vector<int32_t> want;
  for (int i = 0; i < 12; ++i) {
    const int32_t best = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    want.push_back(best);
    const int32_t one[1] = {best};
    ASSERT_TRUE((*ctx)->decode(0, one, static_cast<int32_t>(seq.size()) + i, engine::logits_mode::last, logits).ok());
  }
  EXPECT_EQ(r["tokens"].get<std::vector<int32_t>>(), want);
  EXPECT_EQ(r["content"], (*m)->tok().decode(want));
}

TEST_F(runner, streaming_with_logprobs_and_prefix_reuse) {
  const json req = {{"prompt_tokens", {10, 20, 30, 40, 50, 60, 70, 80}},
                    {"n_predict", 6},
                    {"n_probs", 3},
                    {"temperature", 0.7}, {"seed", 42},
                    {"slot", 0}};
  auto s = http_stream::open(proc_->port(), "/completion", req.dump());
  ASSERT_TRUE(s.ok());
  std::vector<json> chunks;
  while (auto line = (*s)->next_line()) chunks.push_back(json::parse(*line));
  ASSERT_GE(chunks.size(), 2u);
  const json& last = chunks.back();
  EXPECT_TRUE(last["done"].get<bool>());
  int tokens = 0;
  for (const auto& c : chunks) {
    tokens += static_cast<int>(c["tokens"].size());
    const json probs = c.value("probs", json::array());
    ASSERT_EQ(probs.size(), c["tokens"].size());
    for (const auto& p : probs) {
      ASSERT_EQ(p["top"].size(), 3u);
      EXPECT_LE(p["top"][1]["logprob"].get<double>(), p["top"][0]["logprob"].get<double>());
      EXPECT_LE(p["logprob"].get<double>(), 0.0);
    }
  }
  // Six tokens, unless the seeded draw picked an end-of-generation token first.
  EXPECT_EQ(last["timings"]["predicted_n"], tokens);
  if (last["stop_reason"] == "length") {
    EXPECT_EQ(tokens, 6);
  } else {
    EXPECT_EQ(last["stop_reason"], "stop");
    EXPECT_LT(tokens, 6);
  }
  EXPECT_EQ(last["timings"]["prompt_tokens"], 8);
  EXPECT_EQ(last["timings"]["cached_n"], 0);
  // Same prompt again on the same slot: all but the last prompt token come from the cache,
  // and the seeded draw gives the same tokens.
  json again = req;
  again["stream"] = false;
  json r2 = post("/completion", again);
  EXPECT_EQ(r2["timings"]["cached_n"], 7);
  EXPECT_EQ(r2["timings"]["prompt_n"], 1);
  std::vector<int32_t> first;
  for (const auto& c : chunks)
    for (const auto& t : c["tokens"]) first.push_back(t.get<int32_t>());
  EXPECT_EQ(r2["tokens"].get<std::vector<int32_t>>(), first);
}

TEST_F(runner, prompt_logprobs_are_teacher_forced) {
  json r = post("/completion", {{"prompt_tokens", {5, 6, 7, 8, 9}},
                                {"n_predict", 1},
                                {"prompt_logprobs", true},
                                {"n_probs", 2},
                                {"stream", false}});
  ASSERT_EQ(r["prompt_probs"].size(), 4u) << r.dump();
  EXPECT_EQ(r["prompt_probs"][0]["id"], 6);
  EXPECT_EQ(r["prompt_probs"][3]["id"], 9);
  for (const auto& p : r["prompt_probs"]) EXPECT_GE(p["logprob"].get<double>(), p["top"][0]["logprob"].get<double>() - 50);
}

TEST_F(runner, stop_strings_cut_the_text) {
  const json base = {{"prompt", "Once upon a time"}, {"n_predict", 24}, {"stream", false},
                     {"temperature", 0}};
  json full = post("/completion", base);
  const std::string text = full["content"];
  ASSERT_GT(text.size(), 6u);
  const std::string stop = text.substr(text.size() / 2, 3);
  json req = base;
  req["stop"] = {stop};
  json cut = post("/completion", req);
  EXPECT_EQ(cut["stop_reason"], "stop");
  EXPECT_EQ(cut["stop_word"], stop);
  EXPECT_EQ(cut["content"], text.substr(0, text.find(stop)));
}

TEST_F(runner, chat_messages_use_the_template_and_split_reasoning) {
  json r = post("/completion", {{"messages", {{{"role", "user"}, {"content", "Hi there"}}}},
                                {"n_predict", 16},
                                {"stream", false},
                                {"temperature", 0}});
  const std::string rendered = r["rendered_prompt"];
  EXPECT_NE(rendered.find("Hi there"), std::string::npos);
  EXPECT_NE(rendered.find("<think>"), std::string::npos) << rendered;  // the distill template opens it
  // Primed by the open <think>: with no </think> generated, everything is reasoning.
  EXPECT_FALSE(r["thinking"].get<std::string>().empty()) << r.dump();
  json render = post("/render", {{"messages", {{{"role", "user"}, {"content", "Hi there"}}}}});
  EXPECT_EQ(render["prompt"], rendered);
}

TEST_F(runner, embeddings_are_normalised_means) {
  json r = post("/embedding", {{"input", {"hello", "a longer sentence here"}}});
  ASSERT_EQ(r["embeddings"].size(), 2u);
  for (const auto& e : r["embeddings"]) {
    ASSERT_EQ(e.size(), 128u);
    double n = 0;
    for (const auto& v : e) n += v.get<double>() * v.get<double>();
    EXPECT_NEAR(n, 1.0, 1e-4);
  }
}

TEST_F(runner, malformed_requests_get_400_and_garbage_does_not_hurt) {
  auto bad = http_request(proc_->port(), "POST", "/completion", "{not json");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("error"), std::string::npos);
  post("/completion", {{"prompt", 5}}, 400);
  post("/completion", {{"prompt", "x"}, {"n_probs", 99}}, 400);
  post("/completion", {{"prompt", "x"}, {"prompt_tokens", {1}}}, 400);
  post("/completion", {{"prompt_tokens", {-3}}}, 400);
  std::vector<int32_t> huge(600, 11);
  json too_long = post("/completion", {{"prompt_tokens", huge}}, 400);
  EXPECT_EQ(too_long["code"], "resource_exhausted");
  post("/completion", {{"prompt", "x"}, {"slot", 7}}, 400);
  for (const std::string& g : {std::string("\x16\x03\x01\x02\x00garbage\r\n\r\n", 16), std::string(5000, 'A'),
                               std::string("GET / HTTP/1.1\r\nContent-Length: -5\r\n\r\n"),
                               std::string("POST /completion HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"pro")}) {
    auto r = raw_exchange(proc_->port(), g, 3000);
    EXPECT_TRUE(r.ok());
  }
  EXPECT_TRUE(proc_->alive());
  json ok = post("/completion", {{"prompt", "still alive"}, {"n_predict", 2}, {"stream", false}});
  EXPECT_EQ(ok["tokens"].size(), 2u);
}

TEST_F(runner, sigterm_mid_stream_ends_the_stream_and_exits_cleanly) {
  auto s = http_stream::open(proc_->port(), "/completion",
                             json({{"prompt", "go"}, {"n_predict", -1}, {"temperature", 1.0}}).dump());
  ASSERT_TRUE(s.ok());
  auto first = (*s)->next_line();
  ASSERT_TRUE(first.has_value());
  const auto t0 = std::chrono::steady_clock::now();
  ::kill(proc_->pid(), SIGTERM);
  json last = json::parse(*first);
  while (auto line = (*s)->next_line(10000)) last = json::parse(*line);
  EXPECT_TRUE(last["done"].get<bool>()) << last.dump();
  // Cancelled, unless the generation reached the end of the context first.
  EXPECT_TRUE(last["stop_reason"] == "cancelled" || last["stop_reason"] == "context" || last["stop_reason"] == "stop")
      << last.dump();
  EXPECT_EQ(proc_->terminate(10000), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
}

TEST(runner_slow, a_client_that_hangs_up_frees_its_slot) {
  g_model = g_model ? g_model : new shared_model();
  const std::string path = make("wide.gguf", 512, 4);
  auto p = runner_process::start({"--model", path, "--ctx", "4096", "--parallel", "1", "--threads", "1"});
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE((*p)->wait_ready().ok());
  const json long_req = {{"prompt", "tell me"}, {"n_predict", 600}, {"temperature", 0}};
  // How long the whole generation takes when nobody hangs up.
  auto t0 = std::chrono::steady_clock::now();
  json full_req = long_req;
  full_req["stream"] = false;
  auto full = http_request((*p)->port(), "POST", "/completion", full_req.dump(), 120000);
  ASSERT_TRUE(full.ok());
  const auto full_time = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(json::parse(full->body)["tokens"].size(), 600u);
  // Hang up after the first tokens; with one slot, the next request is served only if the
  // abandoned one was cancelled.
  auto s = http_stream::open((*p)->port(), "/completion", long_req.dump());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->next_line().has_value());
  (*s)->close();
  t0 = std::chrono::steady_clock::now();
  auto small = http_request((*p)->port(), "POST", "/completion",
                            json({{"prompt", "hi"}, {"n_predict", 2}, {"stream", false}}).dump(), 120000);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->status, 200);
  const auto small_time = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(small_time * 3, full_time) << "the abandoned generation kept the only slot busy";
  EXPECT_TRUE((*p)->alive());
  EXPECT_EQ((*p)->terminate(), 0);
}

TEST(runner_cli, bad_flags_and_socket_are_refused_clearly) {
  auto p = runner_process::start({"--model", "/nonexistent.gguf", "--kv-type", "q3"});
  EXPECT_FALSE(p.ok());
}

}  // namespace
}  // namespace r1::runner_test
