// Splits a model's streamed output into reasoning (<think>...</think>) and
// answer text.
//
// Rules (what DeepSeek-R1 and its distills produce): reasoning is everything
// before the first close tag, with an optional leading open tag. If the first
// non-whitespace output is not the open tag, everything is answer — unless
// the splitter was primed because the rendered prompt already ended inside
// an open <think> (the R1-distill templates open it), in which case output
// starts as reasoning. Whitespace right after either tag and before the close
// tag is dropped. Tags cut across chunks ("</thi" + "nk>") are held back until
// resolved, so nothing of a tag ever leaks into either part.
//
// One per generation; not thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace r1::engine {

struct reasoning_chunk {
  std::string reasoning;
  std::string content;
  bool empty() const { return reasoning.empty() && content.empty(); }
};

class reasoning_splitter {
 public:
  explicit reasoning_splitter(bool primed = false, std::string open_tag = "<think>",
                              std::string close_tag = "</think>");

  // Text that became certain with this chunk.
  reasoning_chunk push(std::string_view text);
  // End of output: releases what was held back (an unterminated partial tag
  // is emitted as text; trailing reasoning whitespace is dropped).
  reasoning_chunk finish();

  bool in_reasoning() const { return state_ == state::thinking || state_ == state::thinking_start; }
  bool reasoning_done() const { return state_ == state::answer || state_ == state::answer_start; }

 private:
  enum class state { looking_for_open, thinking_start, thinking, answer_start, answer };
  void step(reasoning_chunk& out, bool final);

  std::string open_, close_;
  state state_;
  bool skip_ws_ = false;  // drop whitespace right after the open tag
  std::string buf_;
};

// True when a rendered prompt ends inside an open reasoning block: its last
// open tag comes after its last close tag and only whitespace follows it.
bool prompt_opens_reasoning(std::string_view rendered, std::string_view open_tag = "<think>",
                            std::string_view close_tag = "</think>");

}  // namespace r1::engine
