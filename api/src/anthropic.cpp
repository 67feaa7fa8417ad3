#include "r1/api/anthropic.h"

#include <functional>
#include <map>

#include "reader.h"

namespace r1::api {

namespace {

constexpr size_t k_max_messages = 4096;
constexpr size_t k_max_tools = 512;

std::string dump_compact(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// A block's "type", or "" when the block is malformed.
std::string block_type(const json& b) {
  return b.is_object() && b.contains("type") && b["type"].is_string() ? b["type"].get<std::string>() : std::string();
}

status need_string(const json& b, const char* key, const std::string& at) {
  if (!b.contains(key) || !b[key].is_string()) return invalid_argument(at + " needs a string '" + key + "'");
  return {};
}

// A string, or an array of text blocks, as one text (tool_result content, system).
result<std::string> text_of(const json& c, const std::string& at) {
  if (c.is_null()) return std::string();
  if (c.is_string()) return c.get<std::string>();
  if (!c.is_array()) return invalid_argument(at + " must be a string or an array of text blocks");
  std::string out;
  for (size_t i = 0; i < c.size(); ++i) {
    const std::string where = at + "[" + std::to_string(i) + "]";
    const std::string type = block_type(c[i]);
    if (type != "text") {
      if (type == "image" || type == "document") return invalid_argument(where + ": " + type + " blocks are not supported");
      return invalid_argument(where + " must be a text block");
    }
    R1_RETURN_IF_ERROR(need_string(c[i], "text", where));
    if (!out.empty()) out += "\n";
    out += c[i]["text"].get<std::string>();
  }
  return out;
}

struct convert_state {
  std::map<std::string, std::string> tool_names;  // tool_use id -> name
};

// What one role does with a content block other than text: adds it to `m` (or `out`), or refuses it.
using block_reader = std::function<status(const json& b, const std::string& type, const std::string& where,
                                          message& m)>;

// The part both roles share. String content is the whole text. An array is read block by block:
// text blocks are joined with `text_sep`, every other block goes to `other`. `m` is appended after
// whatever `other` appended, unless the array had no text block and `needs_text` is set.
status read_content(const json& content, const std::string& at, message m, const char* text_sep, bool needs_text,
                    const block_reader& other, std::vector<message>& out) {
  if (content.is_string()) {
    m.content = content.get<std::string>();
    out.push_back(std::move(m));
    return {};
  }
  bool any_text = false;
  for (size_t i = 0; i < content.size(); ++i) {
    const json& b = content[i];
    const std::string where = at + ".content[" + std::to_string(i) + "]";
    const std::string type = block_type(b);
    if (type == "text") {
      R1_RETURN_IF_ERROR(need_string(b, "text", where));
      if (any_text) m.content += text_sep;
      m.content += b["text"].get<std::string>();
      any_text = true;
    } else {
      R1_RETURN_IF_ERROR(other(b, type, where, m));
    }
  }
  if (any_text || !needs_text) out.push_back(std::move(m));
  return {};
}

status read_user(const json& content, const std::string& at, convert_state& st, std::vector<message>& out) {
  message user;
  user.role = "user";
  auto other = [&](const json& b, const std::string& type, const std::string& where, message&) -> status {
    if (type == "image" || type == "document")
      return invalid_argument(where + ": " + type + " blocks are not supported by the models this server runs");
    if (type != "tool_result")
      return invalid_argument(where + ": block type '" + type + "' is not valid in a user message");
    R1_RETURN_IF_ERROR(need_string(b, "tool_use_id", where));
    message tool;
    tool.role = "tool";
    tool.tool_call_id = b["tool_use_id"].get<std::string>();
    auto name = st.tool_names.find(tool.tool_call_id);
    if (name != st.tool_names.end()) tool.tool_name = name->second;
    R1_ASSIGN_OR_RETURN(tool.content, text_of(b.contains("content") ? b["content"] : json(), where + ".content"));
    if (b.contains("is_error") && b["is_error"].is_boolean() && b["is_error"].get<bool>())
      tool.content = "Error: " + tool.content;
    out.push_back(std::move(tool));
    return {};
  };
  return read_content(content, at, std::move(user), "\n", true, other, out);
}

status read_assistant(const json& content, const std::string& at, convert_state& st, std::vector<message>& out) {
  message m;
  m.role = "assistant";
  auto other = [&](const json& b, const std::string& type, const std::string& where, message& msg) -> status {
    if (type == "thinking") {
      R1_RETURN_IF_ERROR(need_string(b, "thinking", where));
      msg.thinking += b["thinking"].get<std::string>();
    } else if (type == "tool_use") {
      R1_RETURN_IF_ERROR(need_string(b, "id", where));
      R1_RETURN_IF_ERROR(need_string(b, "name", where));
      if (!b.contains("input") || !b["input"].is_object()) return invalid_argument(where + " needs an object 'input'");
      const std::string id = b["id"].get<std::string>(), name = b["name"].get<std::string>();
      st.tool_names[id] = name;
      if (msg.tool_calls.is_null()) msg.tool_calls = json::array();
      msg.tool_calls.push_back(
          {{"id", id}, {"type", "function"}, {"function", {{"name", name}, {"arguments", dump_compact(b["input"])}}}});
    } else if (type != "redacted_thinking") {
      return invalid_argument(where + ": block type '" + type + "' is not valid in an assistant message");
    }
    return {};
  };
  return read_content(content, at, std::move(m), "", false, other, out);
}

status read_messages(const json& msgs, std::vector<message>& out) {
  convert_state st;
  for (size_t i = 0; i < msgs.size(); ++i) {
    const json& m = msgs[i];
    const std::string at = "messages request: messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return invalid_argument(at + " must be an object");
    if (!m.contains("role") || !m["role"].is_string()) return invalid_argument(at + " needs a string 'role'");
    const std::string role = m["role"].get<std::string>();
    if (!m.contains("content") || !(m["content"].is_string() || m["content"].is_array()))
      return invalid_argument(at + ": field 'content' must be a string or an array of content blocks");
    if (role == "user") {
      R1_RETURN_IF_ERROR(read_user(m["content"], at, st, out));
    } else if (role == "assistant") {
      R1_RETURN_IF_ERROR(read_assistant(m["content"], at, st, out));
    } else {
      return invalid_argument(at + ": field 'role' must be user or assistant");
    }
  }
  return {};
}

status read_tools(const json& tools, json& out) {
  if (!tools.is_array()) return invalid_argument("messages request: field 'tools' must be an array");
  if (tools.size() > k_max_tools) return invalid_argument("messages request: field 'tools' has too many entries");
  out = json::array();
  for (size_t i = 0; i < tools.size(); ++i) {
    const json& t = tools[i];
    const std::string at = "messages request: tools[" + std::to_string(i) + "]";
    if (!t.is_object()) return invalid_argument(at + " must be an object");
    R1_RETURN_IF_ERROR(need_string(t, "name", at));
    if (t["name"].get<std::string>().empty()) return invalid_argument(at + ": 'name' is empty");
    if (t.contains("type") && t["type"].is_string() && t["type"].get<std::string>() != "custom")
      return invalid_argument(at + ": server tool type '" + t["type"].get<std::string>() + "' is not supported");
    json fn{{"name", t["name"]}};
    if (t.contains("description") && t["description"].is_string()) fn["description"] = t["description"];
    if (!t.contains("input_schema") || !t["input_schema"].is_object())
      return invalid_argument(at + " needs an object 'input_schema'");
    fn["parameters"] = t["input_schema"];
    out.push_back({{"type", "function"}, {"function", fn}});
  }
  return {};
}

status read_tool_choice(const json& v, const json& tools, tool_choice_option& out) {
  const std::string type = block_type(v);
  if (type == "auto" || type == "none") {
    out.mode = type;
  } else if (type == "any") {
    out.mode = "required";
  } else if (type == "tool") {
    if (!v.contains("name") || !v["name"].is_string()) return invalid_argument("messages request: tool_choice 'tool' needs a 'name'");
    out.mode = "function";
    out.name = v["name"].get<std::string>();
    if (!has_tool(tools, out.name))
      return invalid_argument("messages request: tool_choice names tool '" + out.name + "', which is not among the tools");
  } else {
    return invalid_argument("messages request: field 'tool_choice' must have type auto, any, tool or none");
  }
  if (out.mode == "required" && (!tools.is_array() || tools.empty()))
    return invalid_argument("messages request: tool_choice 'any' needs tools");
  return {};
}

status read_thinking(const json& v, anthropic_request& q) {
  const std::string type = block_type(v);
  if (type == "disabled") {
    q.think.set = true;
    q.think.enabled = false;
    return {};
  }
  if (type != "enabled") return invalid_argument("messages request: field 'thinking.type' must be enabled or disabled");
  q.think.set = true;
  q.think.enabled = true;
  if (v.contains("budget_tokens")) {
    int64_t b = 0;
    if (!detail::reader::as_int(v["budget_tokens"], &b) || b < 0 || b > (1 << 30))
      return invalid_argument("messages request: field 'thinking.budget_tokens' must be a non-negative integer");
    q.thinking_budget = static_cast<int32_t>(b);
  }
  return {};
}

}  // namespace

result<anthropic_request> parse_anthropic_request(const json& j, bool count_only) {
  detail::reader r(j, "messages request");
  anthropic_request q;
  r.required_str("model", q.model, 512);
  if (!count_only) {
    if (r.ok() && !r.has("max_tokens")) r.fail("max_tokens", "is required");
    r.integer("max_tokens", q.max_tokens, 1, 1 << 30);
  }
  const json* msgs = r.raw("messages");
  if (r.ok() && (!msgs || !msgs->is_array() || msgs->empty())) r.fail("messages", "must be a non-empty array");
  if (r.ok() && msgs->size() > k_max_messages) r.fail("messages", "has too many entries");
  if (auto* s = r.raw("system")) {
    auto text = text_of(*s, "messages request: field 'system'");
    if (!text.ok()) return text.error();
    q.system = *text;
  }
  r.str_list("stop_sequences", q.stop_sequences, 64);
  r.boolean("stream", q.stream);
  double d = 0;
  if (r.has("temperature")) {
    r.number("temperature", d, 0, 1);
    q.temperature = d;
  }
  if (r.has("top_p")) {
    r.number("top_p", d, 0, 1);
    q.top_p = d;
  }
  if (r.has("top_k")) {
    int32_t k = 0;
    r.integer("top_k", k, 0, 1000000);
    q.top_k = k;
  }
  if (!r.ok()) return r.error();
  R1_RETURN_IF_ERROR(read_messages(*msgs, q.messages));
  if (auto* t = r.raw("tools")) R1_RETURN_IF_ERROR(read_tools(*t, q.tools));
  if (auto* tc = r.raw("tool_choice")) R1_RETURN_IF_ERROR(read_tool_choice(*tc, q.tools, q.tool_choice));
  if (auto* th = r.raw("thinking")) R1_RETURN_IF_ERROR(read_thinking(*th, q));
  return q;
}

json to_options(const anthropic_request& r) {
  json o = json::object();
  if (r.max_tokens > 0) o["num_predict"] = r.max_tokens;
  if (r.temperature) o["temperature"] = *r.temperature;
  if (r.top_p) o["top_p"] = *r.top_p;
  if (r.top_k) o["top_k"] = *r.top_k;
  if (!r.stop_sequences.empty()) o["stop"] = r.stop_sequences;
  return o;
}

json anthropic_error(const std::string& message, const std::string& type) {
  return {{"type", "error"}, {"error", {{"type", type}, {"message", message}}}};
}

}  // namespace r1::api
