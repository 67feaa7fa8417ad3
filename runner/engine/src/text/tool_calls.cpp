#include "r1/engine/tool_calls.h"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "tool_call_detail.h"

namespace r1::engine {
namespace {

constexpr std::string_view k_bar = "\xEF\xBD\x9C";  // U+FF5C FULLWIDTH VERTICAL LINE
constexpr std::string_view k_sep_char = "\xE2\x96\x81";  // U+2581 LOWER ONE EIGHTH BLOCK
constexpr size_t k_max_marker = 64;  // bytes between "<｜" and "｜>"

enum class marker { none, calls_begin, calls_end, call_begin, call_end, sep, other };

struct found {
  marker kind = marker::none;
  size_t begin = std::string_view::npos;  // offset of '<'
  size_t end = 0;                         // offset after '>'
};

// Length of the bar at text[i] ("｜" or "|"), 0 if none.
size_t bar_at(std::string_view text, size_t i) {
  if (text.substr(i, k_bar.size()) == k_bar) return k_bar.size();
  if (i < text.size() && text[i] == '|') return 1;
  return 0;
}

marker classify(std::string_view inner) {
  std::string n;
  for (size_t i = 0; i < inner.size();) {
    if (inner.substr(i, k_sep_char.size()) == k_sep_char) {
      i += k_sep_char.size();
      continue;
    }
    const char c = inner[i++];
    if (c == '_' || c == ' ' || c == '\\') continue;
    if (!std::isalpha(static_cast<unsigned char>(c))) return marker::none;
    n.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (n == "toolcallsbegin" || n == "toolcalls") return marker::calls_begin;
  if (n == "toolcallsend") return marker::calls_end;
  if (n == "toolcallbegin") return marker::call_begin;
  if (n == "toolcallend") return marker::call_end;
  if (n == "toolsep") return marker::sep;
  if (n.rfind("tool", 0) == 0) return marker::other;
  return marker::none;
}

// The marker starting exactly at i, if any.
found marker_at(std::string_view text, size_t i) {
  found f;
  if (i >= text.size() || text[i] != '<') return f;
  const size_t b = bar_at(text, i + 1);
  if (b == 0) return f;
  const size_t start = i + 1 + b;
  for (size_t j = start; j < text.size() && j - start <= k_max_marker; ++j) {
    const size_t e = bar_at(text, j);
    if (e == 0 || j + e >= text.size() || text[j + e] != '>') continue;
    f.kind = classify(text.substr(start, j - start));
    if (f.kind == marker::none) return f;
    f.begin = i;
    f.end = j + e + 1;
    return f;
  }
  return f;
}

// The next tool marker at or after `from`.
found next_marker(std::string_view text, size_t from) {
  for (size_t i = text.find('<', from); i != std::string_view::npos; i = text.find('<', i + 1)) {
    const found f = marker_at(text, i);
    if (f.kind != marker::none && f.kind != marker::other) return f;
  }
  return {};
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Arguments may be fenced: ```json\n{...}\n```.
std::string_view unfence(std::string_view s) {
  s = trim(s);
  if (s.substr(0, 3) != "```") return s;
  s.remove_prefix(3);
  const size_t nl = s.find('\n');
  s = nl == std::string_view::npos ? std::string_view{} : s.substr(nl + 1);
  s = trim(s);
  if (s.size() >= 3 && s.substr(s.size() - 3) == "```") s.remove_suffix(3);
  return trim(s);
}

result<tool_call> parse_call(std::string_view body, size_t index) {
  const std::string which = "tool call " + std::to_string(index);
  const found sep = next_marker(body, 0);
  if (sep.kind != marker::sep) return corrupt(which + ": no tool separator marker");
  std::string_view head = trim(body.substr(0, sep.begin));
  std::string_view rest = body.substr(sep.end);
  tool_call c;
  std::string_view args;
  if (head == "function") {  // R1 form: the name on the line after the separator
    const size_t nl = rest.find('\n');
    c.name = std::string(trim(rest.substr(0, nl)));
    args = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  } else {  // V3.1 form: the name before the separator
    c.name = std::string(head);
    args = rest;
  }
  // A name written as a JSON string (a forced call choosing among several tools) is unquoted.
  if (c.name.size() >= 2 && c.name.front() == '"' && c.name.back() == '"') {
    nlohmann::json n = nlohmann::json::parse(c.name, nullptr, /*allow_exceptions=*/false);
    if (n.is_string()) c.name = n.get<std::string>();
  }
  if (c.name.empty()) return corrupt(which + ": no function name");
  args = unfence(args);
  if (args.empty()) args = "{}";
  nlohmann::json j = nlohmann::json::parse(args.begin(), args.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return corrupt(which + " (" + c.name + "): arguments are not a JSON object");
  }
  c.arguments = j.dump();
  return c;
}

}  // namespace

size_t detail::deepseek_complete_end(std::string_view text) {
  const size_t start = find_tool_calls(text);
  if (start == std::string_view::npos) return start;
  size_t end = std::string_view::npos;
  for (found f = next_marker(text, start); f.kind != marker::none; f = next_marker(text, f.end)) {
    if (f.kind == marker::call_end) end = f.end;
    if (f.kind == marker::calls_end && end != std::string_view::npos) return f.end;
  }
  return end;
}

size_t find_tool_calls(std::string_view text) {
  const found f = next_marker(text, 0);
  return f.kind == marker::calls_begin || f.kind == marker::call_begin ? f.begin : std::string_view::npos;
}

bool may_begin_tool_calls(std::string_view text) {
  const size_t lt = text.rfind('<');
  if (lt == std::string_view::npos || text.size() - lt > k_max_marker + 8) return false;
  const std::string_view tail = text.substr(lt);
  if (tail.size() == 1) return true;
  // "<" followed by a (possibly partial) bar, then a partial marker name.
  const std::string_view after = tail.substr(1);
  size_t b = 0;
  if (after[0] == '|') {
    b = 1;
  } else if (k_bar.substr(0, std::min(after.size(), k_bar.size())) == after.substr(0, std::min(after.size(), k_bar.size()))) {
    if (after.size() < k_bar.size()) return true;
    b = k_bar.size();
  } else {
    return false;
  }
  // Anything that is not yet closed could still become a marker.
  const std::string_view name = after.substr(b);
  return name.find('>') == std::string_view::npos;
}

result<tool_call_output> parse_tool_calls(std::string_view text) {
  tool_call_output out;
  const size_t start = find_tool_calls(text);
  if (start == std::string_view::npos) {
    out.content = std::string(text);
    return out;
  }
  out.content = std::string(trim(text.substr(0, start)));
  size_t pos = start;
  found f = next_marker(text, pos);
  if (f.kind == marker::calls_begin) pos = f.end;
  for (;;) {
    f = next_marker(text, pos);
    if (f.kind == marker::call_begin) {
      const found end = next_marker(text, f.end);
      // A call runs to its end marker; the separator inside is part of the body.
      found close = end;
      while (close.kind == marker::sep) close = next_marker(text, close.end);
      if (close.kind != marker::call_end) {
        return corrupt("tool call " + std::to_string(out.calls.size()) + " is not closed");
      }
      R1_ASSIGN_OR_RETURN(tool_call c, parse_call(text.substr(f.end, close.begin - f.end), out.calls.size()));
      out.calls.push_back(std::move(c));
      pos = close.end;
      continue;
    }
    if (f.kind == marker::calls_end) pos = f.end;
    break;  // calls end, stray marker, or end of text
  }
  if (out.calls.empty()) return corrupt("a tool-call block holds no call");
  const std::string_view after = trim(text.substr(pos));
  if (!after.empty()) {
    if (!out.content.empty()) out.content += "\n";
    out.content += std::string(after);
  }
  return out;
}

}  // namespace r1::engine
