// Anthropic Messages API request type (POST /v1/messages, /v1/messages/count_tokens) and its
// validated parsing into the shared message form. Nothing throws; errors name the field.
//
// Conversion: `system` (a string or text blocks) becomes one system text. User text blocks are
// joined; each `tool_result` block becomes a `tool` message (tool_call_id = tool_use_id,
// tool_name from the earlier tool_use with that id; is_error results are prefixed "Error: ").
// Assistant `tool_use` blocks become OpenAI-style tool_calls (arguments as JSON text);
// `thinking` blocks are kept as the message's thinking (signatures and redacted_thinking are
// accepted and dropped). Tools {name, description, input_schema} become OpenAI function tools.
// Image and document blocks are refused (invalid_argument): the models served have no vision.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "r1/api/ollama.h"
#include "r1/api/tools.h"
#include "r1/base/status.h"

namespace r1::api {

struct anthropic_request {
  std::string model;
  int32_t max_tokens = 0;               // required for /v1/messages, >= 1
  std::string system;
  std::vector<message> messages;
  std::vector<std::string> stop_sequences;
  bool stream = false;
  std::optional<double> temperature;    // 0..1
  std::optional<double> top_p;
  std::optional<int32_t> top_k;
  json tools;                           // null or OpenAI-style function tools
  tool_choice_option tool_choice;       // auto, any -> required, tool -> function, none
  think_option think;                   // thinking.type enabled / disabled; unset when absent
  int32_t thinking_budget = -1;         // thinking.budget_tokens when enabled
};

// count_tokens: max_tokens is not needed.
result<anthropic_request> parse_anthropic_request(const json& j, bool count_only = false);

// The Ollama `options` object of the sampling fields that were sent.
json to_options(const anthropic_request& r);

// {"type": "error", "error": {"type": <type>, "message": <message>}}.
json anthropic_error(const std::string& message, const std::string& type);

}  // namespace r1::api
