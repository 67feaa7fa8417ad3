// R1 tool-call markers parsed into calls.
#include <gtest/gtest.h>

#include <string>

#include "r1/engine/tool_calls.h"

namespace r1::engine {
namespace {

const std::string k_calls_begin = "<｜tool▁calls▁begin｜>";
const std::string k_calls_end = "<｜tool▁calls▁end｜>";
const std::string k_call_begin = "<｜tool▁call▁begin｜>";
const std::string k_call_end = "<｜tool▁call▁end｜>";
const std::string k_sep = "<｜tool▁sep｜>";

std::string r1_call(const std::string& name, const std::string& args) {
  return k_call_begin + "function" + k_sep + name + "\n```json\n" + args + "\n```" + k_call_end;
}

TEST(tool_calls, r1_template_form_with_two_calls) {
  const std::string text = "Let me check.\n\n" + k_calls_begin + r1_call("get_weather", "{\"city\": \"Paris\"}") + "\n" +
                           r1_call("get_time", "{\"tz\":\"CET\", \"fmt\": [1, 2]}") + k_calls_end;
  auto r = parse_tool_calls(text);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->content, "Let me check.");
  ASSERT_EQ(r->calls.size(), 2u);
  EXPECT_EQ(r->calls[0].name, "get_weather");
  EXPECT_EQ(r->calls[0].arguments, "{\"city\":\"Paris\"}");
  EXPECT_EQ(r->calls[1].name, "get_time");
  EXPECT_EQ(r->calls[1].arguments, "{\"fmt\":[1,2],\"tz\":\"CET\"}");
  EXPECT_EQ(find_tool_calls(text), text.find(k_calls_begin));
}

TEST(tool_calls, v31_form_and_missing_outer_markers) {
  const std::string text = k_call_begin + "search" + k_sep + "{\"q\": \"r1\"}" + k_call_end;
  auto r = parse_tool_calls(text);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->content, "");
  ASSERT_EQ(r->calls.size(), 1u);
  EXPECT_EQ(r->calls[0].name, "search");
  EXPECT_EQ(r->calls[0].arguments, "{\"q\":\"r1\"}");
}

TEST(tool_calls, misspelled_markers_of_distilled_models) {
  for (const std::string begin : {"<｜tool_calls_begin｜>", "<｜tool calls begin｜>", "<｜tool\\_calls\\_begin｜>",
                                  "<|tool▁calls▁begin|>", "<｜tool▁calls｜>"}) {
    const std::string text = "ok " + begin + r1_call("f", "{}") + k_calls_end;
    auto r = parse_tool_calls(text);
    ASSERT_TRUE(r.ok()) << begin << ": " << r.error().to_string();
    EXPECT_EQ(r->content, "ok") << begin;
    ASSERT_EQ(r->calls.size(), 1u) << begin;
    EXPECT_EQ(r->calls[0].name, "f");
    EXPECT_EQ(r->calls[0].arguments, "{}");
  }
}

TEST(tool_calls, plain_text_and_lookalikes_are_content) {
  for (const std::string text : {"no calls here", "a < b and c | d", "<｜User｜>hi", "<｜toolbox｜> is not a marker",
                                 "<think>x</think>answer"}) {
    auto r = parse_tool_calls(text);
    ASSERT_TRUE(r.ok()) << text;
    EXPECT_EQ(r->content, text);
    EXPECT_TRUE(r->calls.empty());
    EXPECT_EQ(find_tool_calls(text), std::string::npos) << text;
  }
}

TEST(tool_calls, broken_blocks_are_errors_naming_the_call) {
  auto cut = parse_tool_calls(k_calls_begin + k_call_begin + "function" + k_sep + "f\n```json\n{\"a\":");
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.error().code(), error_code::corrupt);
  EXPECT_NE(cut.error().to_string().find("tool call 0"), std::string::npos);
  auto bad_json = parse_tool_calls(k_calls_begin + r1_call("g", "{\"a\": tru}") + k_calls_end);
  ASSERT_FALSE(bad_json.ok());
  EXPECT_NE(bad_json.error().to_string().find("(g)"), std::string::npos);
  auto not_object = parse_tool_calls(k_calls_begin + r1_call("g", "[1]") + k_calls_end);
  EXPECT_FALSE(not_object.ok());
  auto no_sep = parse_tool_calls(k_calls_begin + k_call_begin + "f {}" + k_call_end + k_calls_end);
  EXPECT_FALSE(no_sep.ok());
  auto empty = parse_tool_calls(k_calls_begin + k_calls_end);
  EXPECT_FALSE(empty.ok());
}

TEST(tool_calls, text_after_the_block_is_kept) {
  auto r = parse_tool_calls("before" + k_calls_begin + r1_call("f", "{}") + k_calls_end + "\nafter");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->content, "before\nafter");
}

TEST(tool_calls, streaming_holds_back_partial_markers) {
  EXPECT_TRUE(may_begin_tool_calls("text <"));
  EXPECT_TRUE(may_begin_tool_calls("text <\xEF\xBD"));  // half of the full-width bar
  EXPECT_TRUE(may_begin_tool_calls("text <｜tool▁ca"));
  EXPECT_TRUE(may_begin_tool_calls("text <|tool"));
  EXPECT_FALSE(may_begin_tool_calls("text"));
  EXPECT_FALSE(may_begin_tool_calls("a <b> c"));
  EXPECT_FALSE(may_begin_tool_calls("x <｜User｜> y"));
  EXPECT_FALSE(may_begin_tool_calls("1 < 2"));
}

}  // namespace
}  // namespace r1::engine
