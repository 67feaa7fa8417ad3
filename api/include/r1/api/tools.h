// Tool definitions, tool choice and reasoning budgets shared by the Ollama, OpenAI and
// Anthropic request types. Plain data and validating parsers; nothing throws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "r1/base/status.h"

namespace r1::api {

// Which tool use the client asks for.
//   auto:     the model decides; none: tools are not shown to the model at all;
//   required: the answer must be a call (any tool); function: a call to `name`.
struct tool_choice_option {
  std::string mode = "auto";
  std::string name;
};

// Checks an OpenAI-style tools array: objects {"type": "function", "function": {"name": <non-empty
// string>, "description"?: string, "parameters"?: object}}. invalid_argument naming the entry.
status validate_tools(const nlohmann::json& tools, std::string_view what);

// OpenAI `tool_choice`: "none", "auto", "required", or {"type": "function", "function": {"name"}};
// a named function must be one of `tools`. Absent (null): auto.
result<tool_choice_option> parse_openai_tool_choice(const nlohmann::json& v, const nlohmann::json& tools);

// Whether `tools` (validated) holds a function called `name`.
bool has_tool(const nlohmann::json& tools, std::string_view name);

// Reasoning-token budget of a think level: "low" 1024, "medium" 4096, "high" 16384; "max" and
// anything else -1 (unlimited).
int32_t reasoning_budget_for_level(std::string_view level);

}  // namespace r1::api
