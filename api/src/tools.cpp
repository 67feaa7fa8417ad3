#include "r1/api/tools.h"

namespace r1::api {

using json = nlohmann::json;

status validate_tools(const json& tools, std::string_view what) {
  if (tools.is_null()) return {};
  const std::string w(what);
  if (!tools.is_array()) return invalid_argument(w + ": field 'tools' must be an array");
  for (size_t i = 0; i < tools.size(); ++i) {
    const json& t = tools[i];
    const std::string at = w + ": tools[" + std::to_string(i) + "]";
    if (!t.is_object()) return invalid_argument(at + " must be an object");
    if (t.contains("type") && (!t["type"].is_string() || t["type"].get<std::string>() != "function"))
      return invalid_argument(at + ": type must be \"function\"");
    if (!t.contains("function") || !t["function"].is_object()) return invalid_argument(at + " needs a 'function' object");
    const json& fn = t["function"];
    if (!fn.contains("name") || !fn["name"].is_string() || fn["name"].get<std::string>().empty())
      return invalid_argument(at + ".function needs a non-empty string 'name'");
    if (fn.contains("description") && !fn["description"].is_null() && !fn["description"].is_string())
      return invalid_argument(at + ".function.description must be a string");
    if (fn.contains("parameters") && !fn["parameters"].is_null() && !fn["parameters"].is_object())
      return invalid_argument(at + ".function.parameters must be a JSON schema object");
  }
  return {};
}

bool has_tool(const json& tools, std::string_view name) {
  if (!tools.is_array()) return false;
  for (const auto& t : tools) {
    if (t.is_object() && t.contains("function") && t["function"].is_object() && t["function"].contains("name") &&
        t["function"]["name"].is_string() && t["function"]["name"].get<std::string>() == name)
      return true;
  }
  return false;
}

result<tool_choice_option> parse_openai_tool_choice(const json& v, const json& tools) {
  tool_choice_option c;
  if (v.is_null()) return c;
  if (v.is_string()) {
    c.mode = v.get<std::string>();
    if (c.mode != "none" && c.mode != "auto" && c.mode != "required")
      return invalid_argument("field 'tool_choice' must be none, auto, required or a function");
  } else if (v.is_object() && v.contains("function") && v["function"].is_object() && v["function"].contains("name") &&
             v["function"]["name"].is_string()) {
    c.mode = "function";
    c.name = v["function"]["name"].get<std::string>();
  } else {
    return invalid_argument("field 'tool_choice' must be none, auto, required or {\"type\": \"function\", \"function\": {\"name\"}}");
  }
  if ((c.mode == "required" || c.mode == "function") && (!tools.is_array() || tools.empty()))
    return invalid_argument("field 'tool_choice' is " + c.mode + " but no tools are given");
  if (c.mode == "function" && !has_tool(tools, c.name))
    return invalid_argument("field 'tool_choice' names function '" + c.name + "', which is not among the tools");
  return c;
}

int32_t reasoning_budget_for_level(std::string_view level) {
  if (level == "low") return 1024;
  if (level == "medium") return 4096;
  if (level == "high") return 16384;
  return -1;
}

}  // namespace r1::api
