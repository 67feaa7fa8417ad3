#include "r1/engine/chat_template.h"

namespace r1::engine {

result<chat_template> chat_template::parse(std::string_view source) {
  chat_template t;
  t.source_ = std::string(source);
  R1_ASSIGN_OR_RETURN(t.program_, jinja::template_program::parse(source));
  return t;
}

result<std::string> chat_template::render(const chat_inputs& inputs) const {
  nlohmann::ordered_json vars = nlohmann::ordered_json::object();
  if (inputs.extra.is_object()) {
    for (const auto& [k, v] : inputs.extra.items()) vars[k] = v;
  }
  vars["messages"] = inputs.messages;
  vars["tools"] = inputs.tools;
  vars["add_generation_prompt"] = inputs.add_generation_prompt;
  vars["bos_token"] = inputs.bos_token;
  vars["eos_token"] = inputs.eos_token;
  result<std::string> out = program_.render(vars);
  if (!out.ok()) return out.error().with_context("chat template");
  return out;
}

void drop_earlier_reasoning(nlohmann::ordered_json& messages) {
  if (!messages.is_array()) return;
  std::size_t last_user = 0;
  bool any_user = false;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    if (m.is_object() && m.contains("role") && m["role"] == "user") {
      last_user = i;
      any_user = true;
    }
  }
  if (!any_user) return;
  for (std::size_t i = 0; i < last_user; ++i) {
    auto& m = messages[i];
    if (!m.is_object() || !m.contains("role") || m["role"] != "assistant") continue;
    m.erase("reasoning_content");
    m.erase("thinking");
    if (!m.contains("content") || !m["content"].is_string()) continue;
    const std::string content = m["content"].get<std::string>();
    const std::size_t close = content.rfind("</think>");
    if (close == std::string::npos) continue;
    std::string rest = content.substr(close + 8);
    const std::size_t first = rest.find_first_not_of('\n');
    m["content"] = first == std::string::npos ? std::string() : rest.substr(first);
  }
}

}  // namespace r1::engine
