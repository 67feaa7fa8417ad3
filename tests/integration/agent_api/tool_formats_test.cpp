// Tool calls in every template family: the format is detected from the real template files,
// a forced call's frame parses back to the same call, and the streaming separator gives the
// same answer text and calls however the output is cut into chunks.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "r1/engine/tool_calls.h"
#include "tool_call_stream.h"
#include "tool_prompt.h"

namespace r1 {
namespace {

using engine::tool_call_format;
namespace rp = runner_protocol;

std::string slurp(const std::string& rel) {
  std::ifstream in(std::string(R1_SOURCE_DIR) + "/" + rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string k_templates = "tests/unit/engine_text/templates/";

TEST(tool_formats, detected_from_the_real_templates) {
  EXPECT_EQ(engine::detect_tool_call_format(slurp(k_templates + "deepseek_r1_distill.jinja")), tool_call_format::deepseek);
  EXPECT_EQ(engine::detect_tool_call_format(slurp(k_templates + "deepseek_r1_0528_qwen3.jinja")), tool_call_format::deepseek);
  EXPECT_EQ(engine::detect_tool_call_format(slurp(k_templates + "deepseek_v3.jinja")), tool_call_format::deepseek);
  EXPECT_EQ(engine::detect_tool_call_format(slurp(k_templates + "qwen3.jinja")), tool_call_format::qwen);
  EXPECT_EQ(engine::detect_tool_call_format(slurp(k_templates + "llama31.jinja")), tool_call_format::llama3);
  EXPECT_FALSE(runner::template_reads_tools(slurp(k_templates + "deepseek_r1_distill.jinja")));
  EXPECT_FALSE(runner::template_reads_tools(slurp(k_templates + "deepseek_v3.jinja")));
  EXPECT_TRUE(runner::template_reads_tools(slurp(k_templates + "qwen3.jinja")));
  EXPECT_TRUE(runner::template_reads_tools(slurp(k_templates + "llama31.jinja")));
}

const tool_call_format k_all[] = {tool_call_format::deepseek, tool_call_format::qwen, tool_call_format::llama3};

TEST(tool_formats, forced_frame_parses_back_to_the_call) {
  const std::string args = R"({"city":"Paris","days":[1,2],"note":"a \"quoted\" } brace"})";
  for (tool_call_format f : k_all) {
    SCOPED_TRACE(engine::tool_call_format_name(f));
    const engine::tool_call_frame frame = engine::forced_call_frame(f, "get_weather");
    const std::string text = frame.prefix + args + frame.suffix;
    auto r = engine::parse_tool_calls(text, f);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    ASSERT_EQ(r->calls.size(), 1u);
    EXPECT_EQ(r->calls[0].name, "get_weather");
    EXPECT_EQ(nlohmann::json::parse(r->calls[0].arguments), nlohmann::json::parse(args));
    EXPECT_EQ(r->content, "");
    EXPECT_EQ(engine::find_tool_calls(text, f), 0u);
    EXPECT_EQ(engine::find_tool_calls("just an answer, no call", f), std::string::npos);
  }
}

TEST(tool_formats, qwen_and_llama_blocks_with_text_and_errors) {
  auto q = engine::parse_tool_calls(
      "Let me check.\n<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": 1}}\n</tool_call>\n"
      "<tool_call>\n{\"name\": \"b\", \"arguments\": \"{\\\"y\\\": 2}\"}\n</tool_call>",
      tool_call_format::qwen);
  ASSERT_TRUE(q.ok()) << q.error().to_string();
  ASSERT_EQ(q->calls.size(), 2u);
  EXPECT_EQ(q->content, "Let me check.");
  EXPECT_EQ(q->calls[1].arguments, "{\"y\":2}");
  EXPECT_FALSE(engine::parse_tool_calls("<tool_call>\n{\"name\": \"a\"", tool_call_format::qwen).ok());
  EXPECT_FALSE(engine::parse_tool_calls("<tool_call>{\"arguments\": {}}</tool_call>", tool_call_format::qwen).ok());
  EXPECT_FALSE(engine::parse_tool_calls("<tool_call>{\"name\": \"a\", \"arguments\": [1]}</tool_call>",
                                        tool_call_format::qwen).ok());

  auto l = engine::parse_tool_calls("<|python_tag|>{\"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", \"parameters\": {\"k\": \"}\"}}",
                                    tool_call_format::llama3);
  ASSERT_TRUE(l.ok()) << l.error().to_string();
  ASSERT_EQ(l->calls.size(), 2u);
  EXPECT_EQ(l->calls[1].arguments, "{\"k\":\"}\"}");
  auto plain = engine::parse_tool_calls("The answer is 4.", tool_call_format::llama3);
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->calls.empty());
  EXPECT_FALSE(engine::parse_tool_calls("{\"name\": \"a\", \"parameters\": {} trailing", tool_call_format::llama3).ok());
}

struct streamed {
  std::string content;
  std::vector<nlohmann::json> calls;
};

// Feeds text in pieces of `step` bytes (the last piece with done) through a tool_call_stream.
streamed stream_through(const std::string& text, tool_call_format f, size_t step) {
  runner::tool_call_stream s(f);
  streamed out;
  for (size_t i = 0; i < text.size() || i == 0; i += step) {
    rp::completion_chunk c;
    c.content = text.substr(i, step);
    c.done = i + step >= text.size();
    s.filter(c);
    out.content += c.content;
    if (c.tool_calls.is_array())
      for (const auto& t : c.tool_calls) out.calls.push_back(t);
    if (c.done) break;
  }
  return out;
}

TEST(tool_call_stream, same_result_for_every_chunking) {
  for (tool_call_format f : k_all) {
    SCOPED_TRACE(engine::tool_call_format_name(f));
    const auto a = engine::forced_call_frame(f, "alpha");
    const auto b = engine::forced_call_frame(f, "beta");
    // llama3 calls are the whole answer; the others may follow text.
    const std::string lead = f == tool_call_format::llama3 ? "" : "Checking < the weather.\n";
    // DeepSeek models write one block per answer (its calls inside); the others repeat blocks.
    std::string text = lead + a.prefix + R"({"q": "<tool"})" + a.suffix;
    if (f != tool_call_format::deepseek) text += (f == tool_call_format::llama3 ? ";" : "\n") + b.prefix + "{}" + b.suffix;
    auto whole = engine::parse_tool_calls(text, f);
    ASSERT_TRUE(whole.ok()) << whole.error().to_string();
    ASSERT_EQ(whole->calls.size(), f == tool_call_format::deepseek ? 1u : 2u);
    for (size_t step = 1; step <= text.size(); step += (step < 40 ? 1 : 17)) {
      SCOPED_TRACE("step " + std::to_string(step));
      streamed s = stream_through(text, f, step);
      EXPECT_EQ(s.content.find("tool"), std::string::npos) << s.content;  // no marker bytes leak
      ASSERT_EQ(s.calls.size(), whole->calls.size());
      for (size_t i = 0; i < s.calls.size(); ++i) {
        EXPECT_EQ(s.calls[i]["name"], whole->calls[i].name);
        EXPECT_EQ(s.calls[i]["arguments"], whole->calls[i].arguments);
        EXPECT_EQ(s.calls[i]["id"].get<std::string>().rfind("call_", 0), 0u);
      }
    }
  }
}

TEST(tool_call_stream, text_without_calls_and_broken_blocks_stay_text) {
  for (tool_call_format f : k_all) {
    SCOPED_TRACE(engine::tool_call_format_name(f));
    const std::string plain = "a < b and <tool is not a marker; x<|y";
    for (size_t step : {1, 3, 100}) {
      streamed s = stream_through(plain, f, step);
      EXPECT_EQ(s.content, plain);
      EXPECT_TRUE(s.calls.empty());
    }
    const auto frame = engine::forced_call_frame(f, "f");
    const std::string broken = "x " + frame.prefix + "{\"a\": tru" + frame.suffix;
    streamed s = stream_through(broken, f, 5);
    EXPECT_TRUE(s.calls.empty());
    EXPECT_EQ(s.content, broken);
  }
}

TEST(tool_prompt, arguments_normalised_per_family_and_tools_described) {
  nlohmann::ordered_json msgs = nlohmann::ordered_json::parse(R"([
    {"role": "system", "content": "Be brief."},
    {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]},
    {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "g", "arguments": "{\"b\":2}"}}]}
  ])");
  nlohmann::ordered_json tools = nlohmann::ordered_json::parse(
      R"([{"type": "function", "function": {"name": "f", "description": "Eff.", "parameters": {"type": "object"}}}])");
  auto ds = msgs;
  runner::prepare_tool_messages(ds, tools, tool_call_format::deepseek, true);
  EXPECT_EQ(ds[1]["tool_calls"][0]["type"], "function");
  EXPECT_EQ(ds[1]["tool_calls"][0]["function"]["arguments"], "{\"a\":1}");
  EXPECT_EQ(ds[2]["tool_calls"][0]["function"]["arguments"], "{\"b\":2}");
  EXPECT_EQ(ds[0]["content"], "Be brief.\n\n" + runner::tools_system_text(tools));
  auto ll = msgs;
  runner::prepare_tool_messages(ll, tools, tool_call_format::llama3, false);
  EXPECT_EQ(ll[2]["tool_calls"][0]["function"]["arguments"], nlohmann::ordered_json::parse("{\"b\":2}"));
  EXPECT_EQ(ll[0]["content"], "Be brief.");
  nlohmann::ordered_json none = nlohmann::ordered_json::array({{{"role", "user"}, {"content", "hi"}}});
  runner::prepare_tool_messages(none, tools, tool_call_format::deepseek, true);
  ASSERT_EQ(none.size(), 2u);
  EXPECT_EQ(none[0]["role"], "system");
}

TEST(tool_prompt, empty_reasoning_prefill) {
  std::string distill = "<｜User｜>hi<｜Assistant｜><think>\n";
  runner::prefill_empty_reasoning(distill);
  EXPECT_EQ(distill, "<｜User｜>hi<｜Assistant｜><think>\n\n</think>\n\n");
  std::string old = "<｜User｜>hi<｜Assistant｜>";
  runner::prefill_empty_reasoning(old);
  EXPECT_EQ(old, "<｜User｜>hi<｜Assistant｜><think>\n\n</think>\n\n");
  std::string done = "<｜Assistant｜><think>\n\n</think>\n\n";
  runner::prefill_empty_reasoning(done);
  EXPECT_EQ(done, "<｜Assistant｜><think>\n\n</think>\n\n");
}

}  // namespace
}  // namespace r1
