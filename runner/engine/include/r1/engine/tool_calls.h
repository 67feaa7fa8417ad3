// Tool calls in DeepSeek-R1 output (R1-0528 and the V3 family), turned into OpenAI-style calls.
//
//   <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather
//   ```json
//   {"city": "Paris"}
//   ```<｜tool▁call▁end｜>
//   <｜tool▁call▁begin｜>...<｜tool▁call▁end｜><｜tool▁calls▁end｜>
//
// Also accepted: the V3.1 form `<｜tool▁call▁begin｜>NAME<｜tool▁sep｜>ARGS<｜tool▁call▁end｜>`, a
// missing outer begin or end marker, and the misspellings distilled models produce in marker
// names ("tool_calls_begin", "tool calls begin", "tool\_calls\_begin", ASCII '|' for '｜'): a
// marker is "<｜" or "<|", then letters, '▁', '_', ' ' or '\', then "｜>" or "|>", compared
// with the separators removed and case ignored.
//
// Pure functions of the text; thread safe. Errors: parse_tool_calls returns corrupt (naming the
// call and what is wrong) for a call block that is cut off or whose arguments are not a JSON
// object; the caller then usually returns the raw text as content.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "r1/base/status.h"

namespace r1::engine {

struct tool_call {
  std::string name;
  std::string arguments;  // a JSON object, compact serialisation (OpenAI's "arguments")
};

struct tool_call_output {
  std::string content;  // text outside the tool-call block (before it, and any after it)
  std::vector<tool_call> calls;
};

// Splits finished output into content and calls. Text without markers is all content.
result<tool_call_output> parse_tool_calls(std::string_view text);

// Byte offset where a tool-call block begins in text (its first marker), or npos. For
// streaming: text before it is content.
size_t find_tool_calls(std::string_view text);

// True when the end of text could be the start of a tool-call marker ("<", "<｜", "<｜tool▁c"),
// so a streamer should hold those bytes back until more text arrives.
bool may_begin_tool_calls(std::string_view text);

}  // namespace r1::engine
