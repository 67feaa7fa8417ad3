// What a generation must look like: a sequence of parts, each a literal text or a JSON value
// described by a JSON Schema. A plain structured-output request is one schema part; a forced
// tool call is literal + schema + literal (e.g. `<tool_call>\n{"name": "f", "arguments": `,
// the function's parameters schema, `}\n</tool_call>`).
//
// The request shapes of the public APIs map onto it here:
//   Ollama `format`:            "json" -> any JSON object; an object -> that schema.
//   OpenAI `response_format`:   {"type":"text"} -> no constraint; {"type":"json_object"} -> any
//                               JSON object; {"type":"json_schema","json_schema":{"name","schema",
//                               "strict"}} -> that schema (strict: additionalProperties false is
//                               implied for objects that do not say otherwise).
// Between the daemon and the runner a spec travels as JSON (to_json / spec_from_json):
//   {"parts":[{"text":"..."},{"schema":{...},"strict":true}]}
//
// Plain values; thread safe to share once built. Errors: invalid_argument naming the field.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "r1/base/status.h"

namespace r1::constrain {

struct part {
  std::string text;                     // a literal (used when schema is unset)
  std::optional<nlohmann::json> schema;  // a JSON Schema; `true` or {} = any JSON value
  bool strict = false;                  // objects default to additionalProperties: false
};

struct spec {
  std::vector<part> parts;
  bool empty() const { return parts.empty(); }

  static spec literal_text(std::string text);
  static spec schema(nlohmann::json schema, bool strict = false);
  // Appends parts (builder style, for forced tool calls).
  spec& then_text(std::string text);
  spec& then_schema(nlohmann::json schema, bool strict = false);
};

// The schema that stands for "any JSON object" (Ollama "json", OpenAI json_object).
nlohmann::json any_object_schema();

// Ollama `format`: null or "" -> nullopt (no constraint); "json"; a schema object.
result<std::optional<spec>> spec_from_ollama_format(const nlohmann::json& format);
// OpenAI `response_format`: null or {"type":"text"} -> nullopt.
result<std::optional<spec>> spec_from_openai_response_format(const nlohmann::json& response_format);

nlohmann::json to_json(const spec& s);
result<spec> spec_from_json(const nlohmann::json& j);

}  // namespace r1::constrain
