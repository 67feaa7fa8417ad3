// OpenAI-compatible request types (/v1/*), with DeepSeek's reasoning extensions,
// and their validated parsing. Nothing throws; errors name the field.
//
// Sampling fields the client did not send stay unset, so the model's own
// parameters (R1: temperature 0.6, top_p 0.95) still apply underneath.
// `reasoning_content` sent back in earlier assistant messages is accepted and
// dropped, never an error (the DeepSeek contract for R1-style templates).
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

struct openai_sampling {
  std::optional<int32_t> max_tokens;     // max_tokens / max_completion_tokens
  std::optional<double> temperature;     // 0..2
  std::optional<double> top_p;           // 0..1
  std::optional<double> presence_penalty;   // -2..2
  std::optional<double> frequency_penalty;  // -2..2
  std::optional<int64_t> seed;
  std::vector<std::string> stop;
};

struct openai_chat_request {
  std::string model;
  std::vector<message> messages;         // role "developer" maps to "system"
  bool stream = false;
  bool include_usage = false;            // stream_options.include_usage
  openai_sampling sampling;
  bool logprobs = false;
  int32_t top_logprobs = 0;              // 0..20, needs logprobs
  json response_format;                  // null or the object as sent (accepted)
  json tools;                            // validated OpenAI function tools, or null
  tool_choice_option tool_choice;        // tool_choice (absent: auto); parallel_tool_calls is accepted
  think_option think;                    // from reasoning_effort / reasoning.effort / thinking.type
};

struct openai_completion_request {
  std::string model;
  std::optional<std::string> prompt;               // a string (or a one-element array of strings)
  std::optional<std::vector<int32_t>> prompt_tokens;  // an array of token ids
  std::string suffix;
  bool stream = false;
  bool include_usage = false;
  openai_sampling sampling;              // max_tokens defaults to 16 as in the OpenAI spec
  int32_t logprobs = -1;                 // -1: none; 0..5 top alternatives per token
  bool echo = false;
};

struct openai_embedding_request {
  std::string model;
  std::vector<std::string> input;
  std::vector<std::vector<int32_t>> token_input;  // when the input is token ids
  bool base64 = false;                   // encoding_format "base64"
  int32_t dimensions = 0;
};

result<openai_chat_request> parse_openai_chat_request(const json& j);
result<openai_completion_request> parse_openai_completion_request(const json& j);
result<openai_embedding_request> parse_openai_embedding_request(const json& j);

// The sampling fields that were sent, as an Ollama `options` object (layered over the model's).
json to_options(const openai_sampling& s);

// {"error": {"message", "type", "param": null, "code": null}}; `type` is
// invalid_request_error, not_found_error, authentication_error, permission_error,
// rate_limit_error, server_error.
json openai_error(const std::string& message, const std::string& type);

}  // namespace r1::api
