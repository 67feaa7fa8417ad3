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

// ---- Other template families (tool_call_formats.cpp)
//
//   deepseek: the markers above (R1, R1-0528, V3 templates).
//   qwen:     <tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>, repeated (Qwen2.5/3, Hermes).
//   llama3:   {"name": "f", "parameters": {...}} as the whole answer, optionally after
//             <|python_tag|>; several calls separated by ';' (Llama 3.1/3.2 JSON tool calling).
enum class tool_call_format { deepseek, qwen, llama3 };
const char* tool_call_format_name(tool_call_format f);

// The format a chat template writes tool calls in, from its source text.
tool_call_format detect_tool_call_format(std::string_view template_source);

// As the functions above, for any format. Errors: corrupt naming the call and what is wrong.
result<tool_call_output> parse_tool_calls(std::string_view text, tool_call_format f);
size_t find_tool_calls(std::string_view text, tool_call_format f);
bool may_begin_tool_calls(std::string_view text, tool_call_format f);
// Offset just after the last complete call in text (from find_tool_calls on), or npos when no
// call is complete yet; llama3 calls have no end marker and are complete only at the end.
size_t complete_tool_calls_end(std::string_view text, tool_call_format f);

// The literal text around the arguments object of one call to `name`, as the model writes it:
// prefix + arguments JSON + suffix is a complete call block (used to force a call).
struct tool_call_frame {
  std::string prefix;
  std::string suffix;
};
tool_call_frame forced_call_frame(tool_call_format f, std::string_view name);

}  // namespace r1::engine
