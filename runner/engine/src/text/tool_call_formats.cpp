// Tool-call formats other than DeepSeek's markers (Qwen's <tool_call> blocks, Llama 3.1's JSON
// answers), and the dispatch by format.
#include <cctype>

#include <nlohmann/json.hpp>

#include "r1/engine/tool_calls.h"
#include "tool_call_detail.h"

namespace r1::engine {
namespace {

constexpr std::string_view k_qwen_open = "<tool_call>";
constexpr std::string_view k_qwen_close = "</tool_call>";
constexpr std::string_view k_python_tag = "<|python_tag|>";

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

void append_content(std::string& out, std::string_view text) {
  text = trim(text);
  if (text.empty()) return;
  if (!out.empty()) out += "\n";
  out += std::string(text);
}

// {"name": ..., "arguments"|"parameters": {...} or a string holding one} -> a call.
result<tool_call> call_from_json(std::string_view body, size_t index) {
  const std::string which = "tool call " + std::to_string(index);
  nlohmann::json j = nlohmann::json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return corrupt(which + ": not a JSON object");
  if (!j.contains("name") || !j["name"].is_string() || j["name"].get<std::string>().empty())
    return corrupt(which + ": no function name");
  tool_call c;
  c.name = j["name"].get<std::string>();
  const char* key = j.contains("arguments") ? "arguments" : j.contains("parameters") ? "parameters" : nullptr;
  nlohmann::json args = key ? j[key] : nlohmann::json::object();
  if (args.is_string()) {
    const std::string text = args.get<std::string>();
    args = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  }
  if (args.is_discarded() || !args.is_object()) return corrupt(which + " (" + c.name + "): arguments are not a JSON object");
  c.arguments = args.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return c;
}

result<tool_call_output> parse_qwen(std::string_view text) {
  tool_call_output out;
  size_t pos = 0;
  for (;;) {
    const size_t open = text.find(k_qwen_open, pos);
    if (open == std::string_view::npos) break;
    append_content(out.content, text.substr(pos, open - pos));
    const size_t body = open + k_qwen_open.size();
    const size_t close = text.find(k_qwen_close, body);
    if (close == std::string_view::npos) return corrupt("tool call " + std::to_string(out.calls.size()) + " is not closed");
    R1_ASSIGN_OR_RETURN(tool_call c, call_from_json(trim(text.substr(body, close - body)), out.calls.size()));
    out.calls.push_back(std::move(c));
    pos = close + k_qwen_close.size();
  }
  append_content(out.content, text.substr(pos));
  if (out.calls.empty()) out.content = std::string(text);
  return out;
}

// End of the JSON object starting at text[i] == '{' (after its '}'), or npos when unbalanced.
size_t object_end(std::string_view text, size_t i) {
  int depth = 0;
  bool in_string = false;
  for (; i < text.size(); ++i) {
    const char ch = text[i];
    if (in_string) {
      if (ch == '\\') ++i;
      else if (ch == '"') in_string = false;
      continue;
    }
    if (ch == '"') in_string = true;
    else if (ch == '{') ++depth;
    else if (ch == '}' && --depth == 0) return i + 1;
  }
  return std::string_view::npos;
}

size_t find_llama(std::string_view text) {
  const size_t tag = text.find(k_python_tag);
  if (tag != std::string_view::npos) return tag;
  const std::string_view t = trim(text);
  return !t.empty() && t.front() == '{' ? static_cast<size_t>(t.data() - text.data()) : std::string_view::npos;
}

result<tool_call_output> parse_llama(std::string_view text) {
  tool_call_output out;
  const size_t start = find_llama(text);
  if (start == std::string_view::npos) {
    out.content = std::string(text);
    return out;
  }
  append_content(out.content, text.substr(0, start));
  size_t pos = start;
  if (text.substr(pos, k_python_tag.size()) == k_python_tag) pos += k_python_tag.size();
  for (;;) {
    while (pos < text.size() && (std::isspace(static_cast<unsigned char>(text[pos])) || text[pos] == ';')) ++pos;
    if (pos >= text.size()) break;
    if (text[pos] != '{') return corrupt("tool call " + std::to_string(out.calls.size()) + ": text after the calls");
    const size_t end = object_end(text, pos);
    if (end == std::string_view::npos) return corrupt("tool call " + std::to_string(out.calls.size()) + " is not closed");
    R1_ASSIGN_OR_RETURN(tool_call c, call_from_json(text.substr(pos, end - pos), out.calls.size()));
    out.calls.push_back(std::move(c));
    pos = end;
  }
  if (out.calls.empty()) return corrupt("a tool-call block holds no call");
  return out;
}

// Whether the end of text is a proper prefix of `marker` starting at some '<'.
bool ends_with_partial(std::string_view text, std::string_view marker) {
  for (size_t n = std::min(text.size(), marker.size() - 1); n > 0; --n) {
    if (text.substr(text.size() - n) == marker.substr(0, n)) return true;
  }
  return false;
}

}  // namespace

const char* tool_call_format_name(tool_call_format f) {
  switch (f) {
    case tool_call_format::deepseek: return "deepseek";
    case tool_call_format::qwen: return "qwen";
    case tool_call_format::llama3: return "llama3";
  }
  return "deepseek";
}

tool_call_format detect_tool_call_format(std::string_view source) {
  if (source.find("<tool_call>") != std::string_view::npos) return tool_call_format::qwen;
  if (source.find("<|python_tag|>") != std::string_view::npos ||
      (source.find("<|start_header_id|>") != std::string_view::npos && source.find("\"parameters\"") != std::string_view::npos))
    return tool_call_format::llama3;
  return tool_call_format::deepseek;
}

result<tool_call_output> parse_tool_calls(std::string_view text, tool_call_format f) {
  switch (f) {
    case tool_call_format::qwen: return parse_qwen(text);
    case tool_call_format::llama3: return parse_llama(text);
    case tool_call_format::deepseek: break;
  }
  return parse_tool_calls(text);
}

size_t find_tool_calls(std::string_view text, tool_call_format f) {
  switch (f) {
    case tool_call_format::qwen: return text.find(k_qwen_open);
    case tool_call_format::llama3: return find_llama(text);
    case tool_call_format::deepseek: break;
  }
  return find_tool_calls(text);
}

bool may_begin_tool_calls(std::string_view text, tool_call_format f) {
  switch (f) {
    case tool_call_format::qwen: return ends_with_partial(text, k_qwen_open);
    case tool_call_format::llama3: return trim(text).empty() || ends_with_partial(text, k_python_tag);
    case tool_call_format::deepseek: break;
  }
  return may_begin_tool_calls(text);
}

size_t complete_tool_calls_end(std::string_view text, tool_call_format f) {
  switch (f) {
    case tool_call_format::qwen: {
      const size_t open = text.find(k_qwen_open);
      if (open == std::string_view::npos) return open;
      const size_t close = text.rfind(k_qwen_close);
      return close == std::string_view::npos || close < open ? std::string_view::npos : close + k_qwen_close.size();
    }
    case tool_call_format::llama3: return std::string_view::npos;
    case tool_call_format::deepseek: break;
  }
  return detail::deepseek_complete_end(text);
}

tool_call_frame forced_call_frame(tool_call_format f, std::string_view name) {
  const std::string n(name);
  const std::string quoted = nlohmann::json(n).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  switch (f) {
    case tool_call_format::qwen:
      return {"<tool_call>\n{\"name\": " + quoted + ", \"arguments\": ", "}\n</tool_call>"};
    case tool_call_format::llama3:
      return {"{\"name\": " + quoted + ", \"parameters\": ", "}"};
    case tool_call_format::deepseek: break;
  }
  return {"<\xEF\xBD\x9Ctool\xE2\x96\x81" "calls\xE2\x96\x81" "begin\xEF\xBD\x9C><\xEF\xBD\x9Ctool\xE2\x96\x81" "call\xE2\x96\x81"
          "begin\xEF\xBD\x9C>function<\xEF\xBD\x9Ctool\xE2\x96\x81sep\xEF\xBD\x9C>" + n + "\n```json\n",
          "\n```<\xEF\xBD\x9Ctool\xE2\x96\x81" "call\xE2\x96\x81" "end\xEF\xBD\x9C><\xEF\xBD\x9Ctool\xE2\x96\x81" "calls\xE2\x96\x81"
          "end\xEF\xBD\x9C>"};
}

}  // namespace r1::engine
