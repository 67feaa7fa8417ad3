#include "structured_output.h"

#include "r1/constrain/grammar.h"
#include "r1/constrain/spec.h"

namespace r1::daemon {
namespace {

result<nlohmann::json> checked(const result<std::optional<constrain::spec>>& s, const char* field) {
  if (!s.ok()) return s.error();
  if (!s->has_value()) return nlohmann::json();
  auto g = constrain::grammar::compile(**s);
  if (!g.ok()) return status(g.error().code(), std::string(field) + ": " + g.error().message());
  return constrain::to_json(**s);
}

}  // namespace

result<nlohmann::json> ollama_format_constraint(const nlohmann::json& format) {
  return checked(constrain::spec_from_ollama_format(format), "format");
}

result<nlohmann::json> openai_response_format_constraint(const nlohmann::json& response_format) {
  return checked(constrain::spec_from_openai_response_format(response_format), "response_format");
}

}  // namespace r1::daemon
