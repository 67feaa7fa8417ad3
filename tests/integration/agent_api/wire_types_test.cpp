// Anthropic Messages requests and OpenAI tool_choice: conversion into the shared message form
// and the errors that name what is wrong.
#include <gtest/gtest.h>

#include "r1/api/anthropic.h"
#include "r1/api/openai.h"

namespace r1::api {
namespace {

json parse(const char* text) { return json::parse(text); }

TEST(anthropic_request, blocks_become_messages_tools_and_calls) {
  auto q = parse_anthropic_request(parse(R"({
    "model": "m", "max_tokens": 64, "stream": true,
    "system": [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Use tools."}],
    "messages": [
      {"role": "user", "content": "Weather in Paris?"},
      {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "Need the tool.", "signature": "sig"},
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]},
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "18C"}]},
        {"type": "tool_result", "tool_use_id": "toolu_x", "content": "boom", "is_error": true},
        {"type": "text", "text": "And tomorrow?"}]}],
    "tools": [{"name": "get_weather", "description": "Weather now.", "input_schema": {"type": "object"}}],
    "tool_choice": {"type": "tool", "name": "get_weather"},
    "thinking": {"type": "enabled", "budget_tokens": 2048},
    "stop_sequences": ["END"], "temperature": 0.5, "top_k": 20})"));
  ASSERT_TRUE(q.ok()) << q.error().to_string();
  EXPECT_EQ(q->system, "Be brief.\nUse tools.");
  ASSERT_EQ(q->messages.size(), 5u);
  EXPECT_EQ(q->messages[0].role, "user");
  EXPECT_EQ(q->messages[1].role, "assistant");
  EXPECT_EQ(q->messages[1].content, "Checking.");
  EXPECT_EQ(q->messages[1].thinking, "Need the tool.");
  EXPECT_EQ(q->messages[1].tool_calls[0]["id"], "toolu_1");
  EXPECT_EQ(q->messages[1].tool_calls[0]["function"]["arguments"], "{\"city\":\"Paris\"}");
  EXPECT_EQ(q->messages[2].role, "tool");
  EXPECT_EQ(q->messages[2].content, "18C");
  EXPECT_EQ(q->messages[2].tool_name, "get_weather");
  EXPECT_EQ(q->messages[2].tool_call_id, "toolu_1");
  EXPECT_EQ(q->messages[3].content, "Error: boom");
  EXPECT_EQ(q->messages[3].tool_name, "");
  EXPECT_EQ(q->messages[4].role, "user");
  EXPECT_EQ(q->messages[4].content, "And tomorrow?");
  EXPECT_EQ(q->tools[0]["function"]["parameters"], parse(R"({"type": "object"})"));
  EXPECT_EQ(q->tool_choice.mode, "function");
  EXPECT_EQ(q->tool_choice.name, "get_weather");
  EXPECT_TRUE(q->think.set && q->think.enabled);
  EXPECT_EQ(q->thinking_budget, 2048);
  json o = to_options(*q);
  EXPECT_EQ(o["num_predict"], 64);
  EXPECT_EQ(o["stop"], json::array({"END"}));
  EXPECT_EQ(o["top_k"], 20);
}

TEST(anthropic_request, errors_name_the_field) {
  struct bad {
    const char* body;
    const char* needle;
  };
  const bad cases[] = {
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}]})", "max_tokens"},
      {R"({"model": "m", "max_tokens": 0, "messages": [{"role": "user", "content": "x"}]})", "max_tokens"},
      {R"({"model": "m", "max_tokens": 5, "messages": []})", "messages"},
      {R"({"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]})", "role"},
      {R"({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "image", "source": {}}]}]})", "image"},
      {R"({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "tool_result"}]}]})", "tool_use_id"},
      {R"({"model": "m", "max_tokens": 5, "messages": [{"role": "assistant", "content": [{"type": "tool_use", "id": "a", "name": "f", "input": 3}]}]})", "input"},
      {R"({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "tools": [{"name": "f"}]})", "input_schema"},
      {R"({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "tool_choice": {"type": "any"}})", "tool_choice"},
      {R"({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "tool_choice": {"type": "tool", "name": "g"}, "tools": [{"name": "f", "input_schema": {}}]})", "'g'"},
      {R"({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "thinking": {"type": "enabled", "budget_tokens": -1}})", "budget_tokens"},
      {R"({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "temperature": 1.5})", "temperature"},
  };
  for (const auto& c : cases) {
    auto q = parse_anthropic_request(parse(c.body));
    ASSERT_FALSE(q.ok()) << c.body;
    EXPECT_NE(q.error().message().find(c.needle), std::string::npos) << q.error().message();
  }
  EXPECT_TRUE(parse_anthropic_request(parse(R"({"model": "m", "messages": [{"role": "user", "content": "x"}]})"),
                                      /*count_only=*/true).ok());
  EXPECT_EQ(anthropic_error("m", "invalid_request_error"),
            parse(R"({"type": "error", "error": {"type": "invalid_request_error", "message": "m"}})"));
}

TEST(openai_tool_choice, modes_and_errors) {
  const char* tools = R"("tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}])";
  auto req = [&](const std::string& extra) {
    return parse_openai_chat_request(json::parse(R"({"model": "m", "messages": [{"role": "user", "content": "x"}], )" +
                                                 extra + "}"));
  };
  auto a = req(std::string(tools));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->tool_choice.mode, "auto");
  auto n = req(std::string(tools) + R"(, "tool_choice": {"type": "function", "function": {"name": "f"}})");
  ASSERT_TRUE(n.ok()) << n.error().to_string();
  EXPECT_EQ(n->tool_choice.mode, "function");
  EXPECT_EQ(n->tool_choice.name, "f");
  EXPECT_EQ(req(std::string(tools) + R"(, "tool_choice": "required")")->tool_choice.mode, "required");
  EXPECT_EQ(req(std::string(tools) + R"(, "tool_choice": "none")")->tool_choice.mode, "none");
  EXPECT_FALSE(req(std::string(tools) + R"(, "tool_choice": "sometimes")").ok());
  EXPECT_FALSE(req(std::string(tools) + R"(, "tool_choice": {"type": "function", "function": {"name": "g"}})").ok());
  EXPECT_FALSE(req(R"("tool_choice": "required")").ok());
  auto bad_tool = req(R"("tools": [{"type": "function", "function": {"description": "no name"}}])");
  ASSERT_FALSE(bad_tool.ok());
  EXPECT_NE(bad_tool.error().message().find("tools[0]"), std::string::npos) << bad_tool.error().message();
  EXPECT_EQ(reasoning_budget_for_level("low"), 1024);
  EXPECT_EQ(reasoning_budget_for_level("medium"), 4096);
  EXPECT_EQ(reasoning_budget_for_level("high"), 16384);
  EXPECT_EQ(reasoning_budget_for_level("max"), -1);
}

}  // namespace
}  // namespace r1::api
