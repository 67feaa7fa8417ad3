// Turns the prompt of a request into tokens: text (with the tokenizer's BOS rule), token ids
// (range-checked) or chat messages (rendered with the model's chat template, then tokenized
// with the template-BOS rule; tools and think=false as tool_prompt.h says). Also reports whether a rendered prompt ends inside a
// <think> block, so the reasoning splitter starts in the right state.
//
// Immutable after construction; thread safe (the tokenizer and template are).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "r1/base/status.h"
#include "r1/engine/model.h"
#include "r1/engine/tool_calls.h"
#include "r1/runner_protocol/messages.h"

namespace r1::runner {

struct built_prompt {
  std::vector<int32_t> tokens;
  std::string rendered;        // messages only
  bool reasoning_open = false;
};

class prompt_builder {
 public:
  // Errors: invalid_argument when the model's chat template does not parse.
  static result<std::unique_ptr<prompt_builder>> create(const engine::model& m);
  ~prompt_builder();

  result<built_prompt> build(const runner_protocol::completion_request& r) const;
  // Renders messages with the chat template. invalid_argument without a template or when the
  // template raises an error.
  result<std::string> render(const std::vector<runner_protocol::chat_message>& messages, bool add_generation_prompt,
                             const runner_protocol::json& tools, std::optional<bool> think) const;
  bool has_template() const;
  bool template_thinks() const;
  // The format the template writes tool calls in (deepseek without a template).
  engine::tool_call_format tool_format() const;

 private:
  explicit prompt_builder(const engine::model& m);
  const engine::model& m_;
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace r1::runner
