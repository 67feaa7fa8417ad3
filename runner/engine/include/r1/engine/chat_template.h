// Chat templates: the model's Jinja template (tokenizer.chat_template)
// rendered over a conversation, with the variables Hugging Face passes.
//
// Immutable after parse(); render() is thread-safe. Errors carry the
// template's own message for raise_exception() (invalid_argument).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "r1/base/status.h"
#include "r1/engine/jinja.h"

namespace r1::engine {

struct chat_inputs {
  // [{"role": "system"|"user"|"assistant"|"tool", "content": ..., "tool_calls": [...]}, ...]
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  // OpenAI-style tool definitions, or null for none (the template sees None).
  nlohmann::ordered_json tools;
  bool add_generation_prompt = true;
  std::string bos_token;
  std::string eos_token;
  // Further variables (enable_thinking, date_string, ...); may override none of the above.
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};

class chat_template {
 public:
  // Parses the template text. Errors: invalid_argument with the line.
  static result<chat_template> parse(std::string_view source);

  result<std::string> render(const chat_inputs& inputs) const;

  const std::string& source() const { return source_; }

  // Whether this template reasons in <think> blocks (mentions </think>).
  bool uses_thinking_tags() const { return source_.find("</think>") != std::string::npos; }

 private:
  std::string source_;
  jinja::template_program program_;
};

// Removes the reasoning of earlier assistant turns: in every assistant
// message before the last user message, a string content keeps only the
// text after its last "</think>" (leading newlines dropped), and a
// "reasoning_content"/"thinking" field is erased. This is what the R1
// templates do themselves; applying it before rendering makes the rule hold
// for any template, whatever the model is called.
void drop_earlier_reasoning(nlohmann::ordered_json& messages);

}  // namespace r1::engine
