// pull -> list -> run -> ps -> stop -> rm through the CLI and the HTTP API,
// against a real r1d with real runners and a real docker-registry.
#include <gtest/gtest.h>

#include <httplib.h>

#include <fstream>

#include "r1/api/json_util.h"
#include "r1/test_support/daemon_process.h"
#include "r1/test_support/registry_fixture.h"

namespace {

using json = nlohmann::json;
using r1::test_support::daemon_process;
using r1::test_support::bin;
using r1::test_support::make_model;
using r1::test_support::run_program;

class daemon_e2e : public ::testing::Test {
 protected:
  void SetUp() override {
    model_path_ = make_model(work_.path(), "demo");
    ASSERT_FALSE(model_path_.empty()) << "r1-mkmodel failed";
    daemon_ = daemon_process::start({"--context-length", "512"});
    ASSERT_TRUE(daemon_) << "r1d did not start";
  }
  void TearDown() override {
    if (HasFailure() && daemon_) std::cerr << "---- r1d log ----\n" << daemon_->log() << "\n";
  }
  void create(const std::string& name) {
    std::ofstream(work_ / "Modelfile") << "FROM ./demo.gguf\nPARAMETER num_predict 24\n";
    auto r = daemon_->cli({"create", name, "-f", work_ / "Modelfile"});
    ASSERT_EQ(r.code, 0) << r.err;
  }
  r1::api::client client() { return r1::api::client(daemon_->client_options()); }

  r1::test_support::temp_dir work_{"e2e"};
  std::string model_path_;
  std::unique_ptr<daemon_process> daemon_;
};

TEST_F(daemon_e2e, cli_create_list_show_run_ps_stop_rm) {
  create("demo");
  auto list = daemon_->cli({"list"});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_NE(list.out.find("demo:latest"), std::string::npos) << list.out;

  auto show = daemon_->cli({"show", "demo"});
  ASSERT_EQ(show.code, 0) << show.err;
  EXPECT_NE(show.out.find("qwen2"), std::string::npos) << show.out;
  auto params = daemon_->cli({"show", "demo", "--parameters"});
  EXPECT_NE(params.out.find("temperature"), std::string::npos) << params.out;  // R1's defaults were added
  EXPECT_NE(params.out.find("num_predict"), std::string::npos) << params.out;

  auto run = daemon_->cli({"run", "demo", "Why is the sky blue?", "--verbose"});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_NE(run.err.find("eval count"), std::string::npos) << run.err;

  auto piped = daemon_->cli({"run", "demo", "--think=false"}, "Say hi");
  ASSERT_EQ(piped.code, 0) << piped.err;

  auto ps = daemon_->cli({"ps"});
  ASSERT_EQ(ps.code, 0);
  EXPECT_NE(ps.out.find("demo:latest"), std::string::npos) << ps.out;
  EXPECT_NE(ps.out.find("100% CPU"), std::string::npos) << ps.out;

  ASSERT_EQ(daemon_->cli({"stop", "demo"}).code, 0);
  EXPECT_EQ(daemon_->cli({"ps"}).out.find("demo:latest"), std::string::npos);

  ASSERT_EQ(daemon_->cli({"cp", "demo", "demo2"}).code, 0);
  auto rm = daemon_->cli({"rm", "demo", "demo2"});
  ASSERT_EQ(rm.code, 0) << rm.err;
  EXPECT_EQ(daemon_->cli({"list"}).out.find("demo"), std::string::npos);

  auto missing = daemon_->cli({"show", "nothing-here"});
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.err.find("not found"), std::string::npos) << missing.err;
}

// r1 bench: the daemon runs the runner's benchmark on the stored model's file and the CLI
// prints llama-bench's rows; --json passes the daemon's answer through.
TEST_F(daemon_e2e, bench_through_the_cli) {
  create("demo");
  auto table = daemon_->cli({"bench", "demo", "-p", "16", "-n", "4", "-r", "2", "-t", "1"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_NE(table.out.find("demo:latest (qwen2"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("| pp16 | "), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("| tg4 | "), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("first token after load"), std::string::npos) << table.out;

  auto raw = daemon_->cli({"bench", "demo", "-p", "0", "-n", "3", "-d", "20", "-r", "1", "--json"});
  ASSERT_EQ(raw.code, 0) << raw.err;
  const json j = json::parse(raw.out);
  EXPECT_EQ(j.value("model", ""), "demo:latest");
  EXPECT_EQ(j.value("depth", -1), 20);
  EXPECT_FALSE(j.contains("pp0"));
  ASSERT_TRUE(j.contains("tg3")) << raw.out;
  EXPECT_GT(j["tg3"].value("tokens_per_s", 0.0), 0.0);
  EXPECT_EQ(j["tg3"]["runs"].size(), 1u);

  auto missing = daemon_->cli({"bench", "nothing-here"});
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.err.find("not found"), std::string::npos) << missing.err;
  auto bad = daemon_->cli({"bench", "demo", "--kv-type", "q4_0"});
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("kv_type"), std::string::npos) << bad.err;
}

TEST_F(daemon_e2e, cli_says_when_the_daemon_is_not_running) {
  auto r = run_program({bin("r1"), "list"},
                                 {{"R1_HOST", "127.0.0.1:" + std::to_string(r1::test_support::free_loopback_port())}});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("r1 serve"), std::string::npos) << r.err;
  // `r1 serve` is r1d in the foreground: flags pass through.
  auto serve = run_program({bin("r1"), "serve", "--print-config"}, {{"R1_KEEP_ALIVE", "7m"}});
  EXPECT_EQ(serve.code, 0) << serve.err;
  EXPECT_NE(serve.out.find("keep_alive = \"7m\"  # env"), std::string::npos) << serve.out;
}

TEST_F(daemon_e2e, push_to_a_registry_and_pull_back_through_the_cli) {
  auto reg = r1::test_support::registry_fixture::start();
  ASSERT_TRUE(reg.ok()) << reg.error().to_string();
  create("demo");
  std::string remote = (*reg)->host() + "/test/demo:v1";
  ASSERT_EQ(daemon_->cli({"cp", "demo", remote}).code, 0);
  auto push = daemon_->cli({"push", remote});
  ASSERT_EQ(push.code, 0) << push.err;
  EXPECT_NE(push.err.find("success"), std::string::npos) << push.err;
  ASSERT_EQ(daemon_->cli({"rm", "demo", remote}).code, 0);
  EXPECT_EQ(daemon_->cli({"list"}).out.find("demo"), std::string::npos);
  auto pull = daemon_->cli({"pull", remote});
  ASSERT_EQ(pull.code, 0) << pull.err;
  EXPECT_NE(pull.err.find("success"), std::string::npos) << pull.err;
  EXPECT_NE(daemon_->cli({"list"}).out.find(remote), std::string::npos);
  auto run = daemon_->cli({"run", remote, "hello"});
  EXPECT_EQ(run.code, 0) << run.err;
  // The same flow through the HTTP API.
  auto c = client();
  ASSERT_TRUE(c.del("/api/delete", json{{"model", remote}}).ok());
  std::vector<json> lines;
  auto st = c.stream("/api/pull", json{{"model", remote}}, [&](const json& j) {
    lines.push_back(j);
    return true;
  });
  ASSERT_TRUE(st.ok()) << st.to_string();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front()["status"], "pulling manifest");
  EXPECT_EQ(lines.back()["status"], "success");
  bool saw_layer = false;
  for (const auto& l : lines) saw_layer = saw_layer || (l.contains("digest") && l.contains("total"));
  EXPECT_TRUE(saw_layer);
  auto tags = c.get("/api/tags");
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ((*tags)["models"].size(), 1u);
}

TEST_F(daemon_e2e, ollama_generate_and_chat) {
  create("demo");
  auto c = client();
  auto gen = c.post("/api/generate", json{{"model", "demo"}, {"prompt", "hi"}, {"stream", false}, {"think", false},
                                          {"options", {{"num_predict", 8}, {"seed", 1}}}});
  ASSERT_TRUE(gen.ok()) << gen.error().to_string();
  EXPECT_EQ((*gen)["done"], true);
  EXPECT_EQ((*gen)["model"], "demo:latest");
  EXPECT_TRUE((*gen)["response"].is_string());
  EXPECT_FALSE(gen->contains("thinking"));
  EXPECT_TRUE((*gen)["context"].is_array());
  EXPECT_GT((*gen)["total_duration"].get<int64_t>(), 0);
  EXPECT_GT((*gen)["prompt_eval_count"].get<int>(), 0);
  EXPECT_LE((*gen)["eval_count"].get<int>(), 8);
  EXPECT_TRUE((*gen)["done_reason"] == "stop" || (*gen)["done_reason"] == "length");

  std::vector<json> lines;
  auto st = c.stream("/api/chat",
                     json{{"model", "demo"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"think", true},
                          {"options", {{"num_predict", 8}}}},
                     [&](const json& j) {
                       lines.push_back(j);
                       return true;
                     });
  ASSERT_TRUE(st.ok()) << st.to_string();
  ASSERT_GE(lines.size(), 1u);
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    EXPECT_EQ(lines[i]["done"], false);
    EXPECT_EQ(lines[i]["message"]["role"], "assistant");
  }
  EXPECT_EQ(lines.back()["done"], true);
  EXPECT_TRUE(lines.back().contains("eval_duration"));

  auto ps = c.get("/api/ps");
  ASSERT_TRUE(ps.ok());
  ASSERT_EQ((*ps)["models"].size(), 1u);
  EXPECT_GT((*ps)["models"][0]["size"].get<uint64_t>(), 0u);
  EXPECT_TRUE((*ps)["models"][0]["expires_at"].is_string());

  auto unload = c.post("/api/generate", json{{"model", "demo"}, {"keep_alive", 0}});
  ASSERT_TRUE(unload.ok());
  EXPECT_EQ((*unload)["done_reason"], "unload");
  EXPECT_EQ((*c.get("/api/ps"))["models"].size(), 0u);

  auto bad = c.post("/api/generate", json{{"model", "demo"}, {"prompt", "x"}, {"options", {{"top_k", "many"}}}});
  EXPECT_EQ(bad.error().code(), r1::error_code::invalid_argument);
  auto missing = c.post("/api/chat", json{{"model", "ghost"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}});
  EXPECT_EQ(missing.error().code(), r1::error_code::not_found);
}

TEST_F(daemon_e2e, openai_chat_streams_reasoning_content_and_usage) {
  create("demo");
  auto c = client();
  std::vector<json> chunks;
  bool done_marker = false;
  auto st = c.stream_sse("/v1/chat/completions",
                         json{{"model", "demo"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"stream", true},
                              {"max_tokens", 8}, {"stream_options", {{"include_usage", true}}}},
                         [&](std::string_view data) {
                           if (data == "[DONE]") {
                             done_marker = true;
                             return true;
                           }
                           auto j = r1::api::parse_json(data);
                           EXPECT_TRUE(j.ok());
                           if (j.ok()) chunks.push_back(*j);
                           return true;
                         });
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_TRUE(done_marker);
  ASSERT_GE(chunks.size(), 3u);
  EXPECT_EQ(chunks.front()["choices"][0]["delta"]["role"], "assistant");
  for (const auto& ch : chunks) {
    EXPECT_EQ(ch["object"], "chat.completion.chunk");
    if (ch["choices"].empty()) continue;
    const auto& delta = ch["choices"][0]["delta"];
    bool has_reasoning = delta.contains("reasoning_content") && !delta["reasoning_content"].is_null();
    bool has_content = delta.contains("content") && !delta["content"].is_null() && delta["content"] != "";
    EXPECT_FALSE(has_reasoning && has_content) << ch.dump();
  }
  const json& usage_chunk = chunks.back();
  EXPECT_TRUE(usage_chunk["choices"].empty());
  EXPECT_GT(usage_chunk["usage"]["prompt_tokens"].get<int>(), 0);
  EXPECT_TRUE(usage_chunk["usage"]["completion_tokens_details"].contains("reasoning_tokens"));
  EXPECT_NE(chunks[chunks.size() - 2]["choices"][0]["finish_reason"], nullptr);

  // Non-streaming, with earlier reasoning_content sent back (accepted, never a 400).
  auto r = c.post("/v1/chat/completions",
                  json{{"model", "demo"},
                       {"max_tokens", 8},
                       {"messages",
                        {{{"role", "user"}, {"content", "hi"}},
                         {{"role", "assistant"}, {"content", "hello"}, {"reasoning_content", "the user greets"}},
                         {{"role", "user"}, {"content", "again"}}}}});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ((*r)["object"], "chat.completion");
  EXPECT_TRUE((*r)["choices"][0]["message"].contains("reasoning_content"));
  EXPECT_GT((*r)["usage"]["total_tokens"].get<int>(), 0);

  auto models = c.get("/v1/models");
  ASSERT_TRUE(models.ok());
  EXPECT_EQ((*models)["data"][0]["id"], "demo:latest");
  auto err = c.post("/v1/chat/completions", json{{"model", "ghost"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}});
  EXPECT_EQ(err.error().code(), r1::error_code::not_found);
  auto bad = c.post("/v1/chat/completions",
                    json{{"model", "demo"}, {"temperature", 5}, {"messages", {{{"role", "user"}, {"content", "x"}}}}});
  EXPECT_EQ(bad.error().code(), r1::error_code::invalid_argument);
}

TEST_F(daemon_e2e, openai_completions_with_token_prompt_echo_and_logprobs) {
  create("demo");
  auto c = client();
  auto r = c.post("/v1/completions", json{{"model", "demo"}, {"prompt", {1, 2, 3, 4}}, {"max_tokens", 3},
                                          {"echo", true}, {"logprobs", 2}, {"temperature", 0}});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const auto& lp = (*r)["choices"][0]["logprobs"];
  ASSERT_TRUE(lp.is_object()) << r->dump();
  ASSERT_GE(lp["tokens"].size(), 4u);
  EXPECT_TRUE(lp["token_logprobs"][0].is_null());
  for (size_t i = 1; i < lp["token_logprobs"].size(); ++i) EXPECT_LE(lp["token_logprobs"][i].get<double>(), 0.0);
  auto plain = c.post("/v1/completions", json{{"model", "demo"}, {"prompt", "Once upon"}, {"max_tokens", 4}});
  ASSERT_TRUE(plain.ok()) << plain.error().to_string();
  EXPECT_EQ((*plain)["object"], "text_completion");
  EXPECT_LE((*plain)["usage"]["completion_tokens"].get<int>(), 4);
}

TEST_F(daemon_e2e, security_host_origin_and_keys) {
  auto keyed = daemon_process::start({"--api-keys", "user-key", "--admin-keys", "admin-key", "--max-request-body", "4KiB"});
  ASSERT_TRUE(keyed);
  r1::api::client anon(keyed->client_options());
  EXPECT_EQ(anon.get("/api/tags").error().code(), r1::error_code::permission_denied);
  auto uo = keyed->client_options();
  uo.api_key = "user-key";
  r1::api::client user(uo);
  EXPECT_TRUE(user.get("/api/tags").ok());
  EXPECT_EQ(user.post("/api/pull", json{{"model", "x"}}).error().code(), r1::error_code::permission_denied);
  // Bodies over max_request_body are refused before they are read (413). cpp-httplib's client
  // sends the whole body before reading the reply, so it may see the connection's next answer
  // (400) instead; both map to invalid_argument and neither runs the route.
  auto big = user.post("/api/chat", json{{"model", "x"}, {"messages", {{{"role", "user"}, {"content", std::string(64 << 10, 'a')}}}}});
  EXPECT_EQ(big.error().code(), r1::error_code::invalid_argument);
  EXPECT_EQ(big.error().message().find("not found"), std::string::npos) << big.error().message();
  auto ao = keyed->client_options();
  ao.api_key = "admin-key";
  r1::api::client admin(ao);
  EXPECT_EQ(admin.post("/api/copy", json{{"source", "nope"}, {"destination", "x"}}).error().code(),
            r1::error_code::not_found);
  // DNS rebinding and CORS: a foreign Host or Origin is refused before any route runs.
  httplib::Client raw("127.0.0.1", daemon_->port());
  auto evil_host = raw.Get("/api/tags", {{"Host", "attacker.example"}});
  ASSERT_TRUE(evil_host);
  EXPECT_EQ(evil_host->status, 403);
  auto evil_origin = raw.Get("/api/tags", {{"Origin", "http://attacker.example"}});
  ASSERT_TRUE(evil_origin);
  EXPECT_EQ(evil_origin->status, 403);
  auto good_origin = raw.Get("/api/tags", {{"Origin", "http://localhost:3000"}});
  ASSERT_TRUE(good_origin);
  EXPECT_EQ(good_origin->status, 200);
  EXPECT_EQ(good_origin->get_header_value("Access-Control-Allow-Origin"), "http://localhost:3000");
  // A non-loopback address without keys is refused at start.
  auto r = run_program({bin("r1d"), "--host", "0.0.0.0:0", "--models", work_ / "m"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("API keys"), std::string::npos) << r.err;
}

}  // namespace
