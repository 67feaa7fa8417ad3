#include "tool_prompt.h"

#include <cctype>

#include "r1/engine/reasoning_splitter.h"

namespace r1::runner {

namespace {

using ojson = nlohmann::ordered_json;

constexpr std::string_view k_assistant = "<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C>";

bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string dump(const ojson& j) { return j.dump(-1, ' ', false, ojson::error_handler_t::replace); }

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

void normalise_call(ojson& call, engine::tool_call_format format) {
  if (!call.is_object()) return;
  if (!call.contains("type")) call["type"] = "function";
  if (!call.contains("function") || !call["function"].is_object()) return;
  ojson& fn = call["function"];
  if (!fn.contains("arguments")) fn["arguments"] = ojson::object();
  ojson& args = fn["arguments"];
  if (format == engine::tool_call_format::deepseek && !args.is_string()) {
    args = dump(args);
  } else if (format == engine::tool_call_format::llama3 && args.is_string()) {
    ojson parsed = ojson::parse(args.get<std::string>(), nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded()) args = std::move(parsed);
  }
}

}  // namespace

bool template_reads_tools(std::string_view source) {
  for (size_t i = source.find("tools"); i != std::string_view::npos; i = source.find("tools", i + 1)) {
    const bool left_ok = i == 0 || !ident_char(source[i - 1]);
    const bool right_ok = i + 5 >= source.size() || !ident_char(source[i + 5]);
    if (left_ok && right_ok) return true;
  }
  return false;
}

std::string tools_system_text(const ojson& tools) {
  std::string out = "## Tools\n\nYou have access to the following functions:\n";
  for (const auto& t : tools) {
    const ojson& fn = t.is_object() && t.contains("function") ? t["function"] : t;
    if (!fn.is_object()) continue;
    out += "\n### " + (fn.contains("name") && fn["name"].is_string() ? fn["name"].get<std::string>() : std::string());
    out += "\n";
    if (fn.contains("description") && fn["description"].is_string())
      out += "Description: " + fn["description"].get<std::string>() + "\n";
    out += "Parameters: " + (fn.contains("parameters") ? dump(fn["parameters"]) : std::string("{}")) + "\n";
  }
  const engine::tool_call_frame frame = engine::forced_call_frame(engine::tool_call_format::deepseek, "FUNCTION_NAME");
  out += "\nTo call functions, answer with exactly this format (one call block per function call):\n" + frame.prefix +
         "{\"argument\": \"value\"}" + frame.suffix + "\n";
  return out;
}

void prepare_tool_messages(ojson& messages, const ojson& tools, engine::tool_call_format format, bool inject_tools) {
  for (auto& m : messages) {
    if (!m.is_object() || !m.contains("tool_calls") || !m["tool_calls"].is_array()) continue;
    for (auto& call : m["tool_calls"]) normalise_call(call, format);
  }
  if (!inject_tools || !tools.is_array() || tools.empty()) return;
  const std::string text = tools_system_text(tools);
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    if (!it->is_object() || it->value("role", "") != "system") continue;
    ojson& content = (*it)["content"];
    std::string existing = content.is_string() ? content.get<std::string>() : std::string();
    content = existing.empty() ? text : existing + "\n\n" + text;
    return;
  }
  messages.insert(messages.begin(), ojson{{"role", "system"}, {"content", text}});
}

void prefill_empty_reasoning(std::string& rendered) {
  if (ends_with(rendered, "</think>\n\n")) return;
  if (engine::prompt_opens_reasoning(rendered)) {
    rendered += ends_with(rendered, "\n") ? "\n</think>\n\n" : "\n\n</think>\n\n";
  } else if (ends_with(rendered, k_assistant)) {
    rendered += "<think>\n\n</think>\n\n";
  }
}

}  // namespace r1::runner
