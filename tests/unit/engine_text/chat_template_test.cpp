#include <gtest/gtest.h>

#include "r1/engine/chat_template.h"
#include "r1/engine/reasoning_splitter.h"
#include "test_support.h"

namespace r1::engine {
namespace {

using nlohmann::ordered_json;

chat_template load(const std::string& file) {
  auto t = chat_template::parse(test::slurp(test::source_path("tests/unit/engine_text/templates/" + file)));
  EXPECT_TRUE(t.ok()) << t.error().to_string();
  return std::move(t).value();
}

TEST(chat_template, r1_distill_opens_thinking_in_the_prompt) {
  const chat_template t = load("deepseek_r1_distill.jinja");
  EXPECT_TRUE(t.uses_thinking_tags());
  chat_inputs in;
  in.messages = ordered_json::parse(R"([{"role": "user", "content": "What is 1+1?"}])");
  in.bos_token = "<｜begin▁of▁sentence｜>";
  const auto out = t.render(in);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(out.value(), "<｜begin▁of▁sentence｜><｜User｜>What is 1+1?<｜Assistant｜><think>\n");
  EXPECT_TRUE(prompt_opens_reasoning(out.value()));
  in.add_generation_prompt = false;
  EXPECT_FALSE(prompt_opens_reasoning(t.render(in).value()));
}

TEST(chat_template, raise_exception_surfaces_the_template_message) {
  const chat_template t = load("llama31.jinja");
  chat_inputs in;
  in.messages = ordered_json::parse(R"([{"role": "user", "content": "x"},
    {"role": "assistant", "tool_calls": [{"function": {"name": "a", "arguments": {}}},
                                         {"function": {"name": "b", "arguments": {}}}]}])");
  const auto out = t.render(in);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message().find("only supports single tool-calls"), std::string::npos) << out.error().message();
}

TEST(chat_template, drop_earlier_reasoning_keeps_the_answer_only) {
  ordered_json messages = ordered_json::parse(R"([
    {"role": "user", "content": "q1"},
    {"role": "assistant", "content": "<think>\nr1\n</think>\n\na1", "reasoning_content": "r1"},
    {"role": "user", "content": "q2"},
    {"role": "assistant", "content": "<think>r2</think>a2"}])");
  drop_earlier_reasoning(messages);
  EXPECT_EQ(messages[1]["content"], "a1");
  EXPECT_FALSE(messages[1].contains("reasoning_content"));
  EXPECT_EQ(messages[3]["content"], "<think>r2</think>a2");  // after the last user turn: kept
  // With the reasoning dropped first, a template that keeps history verbatim no longer sees it.
  const chat_template llama = load("llama3.jinja");
  chat_inputs in;
  in.messages = messages;
  const auto out = llama.render(in);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out.value().find("r1"), std::string::npos);
}

}  // namespace
}  // namespace r1::engine
