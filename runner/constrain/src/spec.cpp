#include "r1/constrain/spec.h"

namespace r1::constrain {

using json = nlohmann::json;

spec spec::literal_text(std::string text) {
  spec s;
  s.then_text(std::move(text));
  return s;
}

spec spec::schema(json schema, bool strict) {
  spec s;
  s.then_schema(std::move(schema), strict);
  return s;
}

spec& spec::then_text(std::string text) {
  part p;
  p.text = std::move(text);
  parts.push_back(std::move(p));
  return *this;
}

spec& spec::then_schema(json schema, bool strict) {
  part p;
  p.schema = std::move(schema);
  p.strict = strict;
  parts.push_back(std::move(p));
  return *this;
}

json any_object_schema() { return json{{"type", "object"}}; }

result<std::optional<spec>> spec_from_ollama_format(const json& format) {
  if (format.is_null()) return std::optional<spec>();
  if (format.is_string()) {
    const std::string& f = format.get_ref<const std::string&>();
    if (f.empty()) return std::optional<spec>();
    if (f == "json") return std::optional<spec>(spec::schema(any_object_schema()));
    return invalid_argument("format must be \"json\" or a JSON schema object, got \"" + f + "\"");
  }
  if (format.is_object()) return std::optional<spec>(spec::schema(format));
  return invalid_argument("format must be \"json\" or a JSON schema object");
}

result<std::optional<spec>> spec_from_openai_response_format(const json& rf) {
  if (rf.is_null()) return std::optional<spec>();
  if (!rf.is_object()) return invalid_argument("response_format must be an object");
  auto type = rf.find("type");
  if (type == rf.end() || !type->is_string()) return invalid_argument("response_format.type must be a string");
  const std::string& t = type->get_ref<const std::string&>();
  if (t == "text") return std::optional<spec>();
  if (t == "json_object") return std::optional<spec>(spec::schema(any_object_schema()));
  if (t != "json_schema") {
    return invalid_argument("response_format.type must be text, json_object or json_schema, got \"" + t + "\"");
  }
  auto js = rf.find("json_schema");
  if (js == rf.end() || !js->is_object()) {
    return invalid_argument("response_format.json_schema must be an object with a schema");
  }
  bool strict = false;
  if (auto s = js->find("strict"); s != js->end() && !s->is_null()) {
    if (!s->is_boolean()) return invalid_argument("response_format.json_schema.strict must be a boolean");
    strict = s->get<bool>();
  }
  auto schema = js->find("schema");
  if (schema == js->end() || schema->is_null()) {
    // OpenAI accepts a schema-less json_schema; it then means any JSON object.
    return std::optional<spec>(spec::schema(any_object_schema(), strict));
  }
  if (!schema->is_object() && !schema->is_boolean()) {
    return invalid_argument("response_format.json_schema.schema must be a JSON schema object");
  }
  return std::optional<spec>(spec::schema(*schema, strict));
}

json to_json(const spec& s) {
  json parts = json::array();
  for (const part& p : s.parts) {
    if (p.schema) {
      json j{{"schema", *p.schema}};
      if (p.strict) j["strict"] = true;
      parts.push_back(std::move(j));
    } else {
      parts.push_back(json{{"text", p.text}});
    }
  }
  return json{{"parts", std::move(parts)}};
}

result<spec> spec_from_json(const json& j) {
  if (!j.is_object()) return invalid_argument("constraint must be an object with parts");
  auto parts = j.find("parts");
  if (parts == j.end() || !parts->is_array()) return invalid_argument("constraint.parts must be an array");
  spec s;
  for (size_t i = 0; i < parts->size(); ++i) {
    const json& p = (*parts)[i];
    const std::string where = "constraint.parts[" + std::to_string(i) + "]";
    if (!p.is_object()) return invalid_argument(where + " must be an object");
    auto text = p.find("text");
    auto schema = p.find("schema");
    if ((text == p.end()) == (schema == p.end())) return invalid_argument(where + " needs exactly one of text, schema");
    if (text != p.end()) {
      if (!text->is_string()) return invalid_argument(where + ".text must be a string");
      s.then_text(text->get<std::string>());
      continue;
    }
    bool strict = false;
    if (auto st = p.find("strict"); st != p.end()) {
      if (!st->is_boolean()) return invalid_argument(where + ".strict must be a boolean");
      strict = st->get<bool>();
    }
    s.then_schema(*schema, strict);
  }
  if (s.parts.empty()) return invalid_argument("constraint.parts is empty");
  return s;
}

}  // namespace r1::constrain
