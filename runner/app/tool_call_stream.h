// Separates tool calls from the answer text of one streamed completion. Answer text that
// cannot be part of a call passes through at once; text that may open a call is held back
// until it is certain; every call is reported, with a fresh "call_..." id, in the chunk where
// it is complete (DeepSeek and Qwen calls as soon as their end marker arrives, Llama 3.1 JSON
// calls at the end). A block that does not parse as calls is released as answer text at the
// end, so nothing the model wrote is lost.
//
// One per request; not thread safe.
#pragma once

#include <cstddef>
#include <string>

#include "r1/engine/tool_calls.h"
#include "r1/runner_protocol/messages.h"

namespace r1::runner {

class tool_call_stream {
 public:
  explicit tool_call_stream(engine::tool_call_format format);

  // Rewrites c.content and sets c.tool_calls (null when this chunk completes no call).
  void filter(runner_protocol::completion_chunk& c);

  size_t calls() const { return emitted_; }

 private:
  void release_plain(runner_protocol::completion_chunk& c);
  void emit_calls(runner_protocol::completion_chunk& c);

  engine::tool_call_format format_;
  std::string held_;      // text not yet passed on; from the first call marker once in_block_
  bool in_block_ = false;
  size_t emitted_ = 0;    // calls reported so far
  size_t parsed_end_ = 0; // offset in held_ after the last reported call
};

// A new OpenAI-style call id: "call_" and 24 random lower-case hex digits.
std::string new_call_id();

}  // namespace r1::runner
