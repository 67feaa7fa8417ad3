#include "forced_tool_call.h"

#include <string>
#include <vector>

namespace r1::runner {

namespace {

using json = nlohmann::json;

struct candidate {
  std::string name;
  json parameters;
};

json parameters_of(const json& fn) {
  if (fn.contains("parameters") && fn["parameters"].is_object()) return fn["parameters"];
  return json{{"type", "object"}};
}

std::vector<candidate> candidates(const runner_protocol::completion_request& r) {
  std::vector<candidate> out;
  for (const auto& t : r.tools) {
    if (!t.is_object() || !t.contains("function") || !t["function"].is_object()) continue;
    const json& fn = t["function"];
    if (!fn.contains("name") || !fn["name"].is_string()) continue;
    const std::string name = fn["name"].get<std::string>();
    if (r.tool_choice == "function" && name != r.tool_name) continue;
    out.push_back({name, parameters_of(fn)});
  }
  return out;
}

constrain::spec several(const std::vector<candidate>& c, engine::tool_call_format format) {
  json any = json::array();
  if (format == engine::tool_call_format::deepseek) {
    json names = json::array();
    for (const auto& x : c) {
      names.push_back(x.name);
      any.push_back(x.parameters);
    }
    // The frame around a placeholder name: the text before it and after it.
    const engine::tool_call_frame frame = engine::forced_call_frame(format, "\x01");
    const size_t at = frame.prefix.find('\x01');
    constrain::spec s = constrain::spec::literal_text(frame.prefix.substr(0, at));
    s.then_schema(json{{"enum", names}}).then_text(frame.prefix.substr(at + 1));
    s.then_schema(json{{"anyOf", any}}).then_text(frame.suffix);
    return s;
  }
  const char* args_key = format == engine::tool_call_format::llama3 ? "parameters" : "arguments";
  for (const auto& x : c) {
    any.push_back({{"type", "object"},
                   {"properties", {{"name", {{"const", x.name}}}, {args_key, x.parameters}}},
                   {"required", json::array({"name", args_key})},
                   {"additionalProperties", false}});
  }
  if (format == engine::tool_call_format::llama3) return constrain::spec::schema(json{{"anyOf", any}});
  constrain::spec s = constrain::spec::literal_text("<tool_call>\n");
  s.then_schema(json{{"anyOf", any}}).then_text("\n</tool_call>");
  return s;
}

}  // namespace

result<std::optional<constrain::spec>> forced_call_spec(const runner_protocol::completion_request& r,
                                                        engine::tool_call_format format) {
  if (r.tool_choice == "auto" || !r.tools.is_array() || r.tools.empty()) return std::optional<constrain::spec>();
  if (!r.constraint.is_null())
    return invalid_argument("a forced tool call cannot be combined with a response format constraint");
  const std::vector<candidate> c = candidates(r);
  if (c.empty()) return invalid_argument("tool_choice names function '" + r.tool_name + "', which is not among the tools");
  if (c.size() > 1) return std::optional<constrain::spec>(several(c, format));
  const engine::tool_call_frame frame = engine::forced_call_frame(format, c[0].name);
  constrain::spec s = constrain::spec::literal_text(frame.prefix);
  s.then_schema(c[0].parameters).then_text(frame.suffix);
  return std::optional<constrain::spec>(std::move(s));
}

}  // namespace r1::runner
