// Prepares a conversation with tools for the model's chat template, per tool-call format:
//
// - Assistant tool_calls are normalised to what the family's template expects: `type`
//   "function" is filled in; `function.arguments` becomes a JSON string for DeepSeek templates
//   (they concatenate it) and an object for Llama 3.1 (it applies `tojson`); Qwen templates take
//   either and get them unchanged.
// - Templates that never read the `tools` variable (the DeepSeek-R1 and V3 templates) get the
//   tool definitions and the call format described in the system message (appended to the last
//   system message, or a new first one): tools_system_text() below is that text, byte for byte.
//
// Pure functions over JSON; thread safe. Nothing throws.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "r1/engine/tool_calls.h"

namespace r1::runner {

// Whether a template source reads a variable named `tools` (not "tool_calls" or "tool▁...").
bool template_reads_tools(std::string_view source);

// The system-message text describing `tools` (an OpenAI-style array) for a DeepSeek template.
std::string tools_system_text(const nlohmann::ordered_json& tools);

// Applies the rules above to `messages` in place; `inject_tools` adds tools_system_text.
void prepare_tool_messages(nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                           engine::tool_call_format format, bool inject_tools);

// Appends the empty reasoning block that turns reasoning off, when the template did not do it:
// "<think>\n" left open by the generation prompt is closed ("\n</think>\n\n"); a prompt ending
// in the bare DeepSeek generation prompt "<｜Assistant｜>" gets "<think>\n\n</think>\n\n".
void prefill_empty_reasoning(std::string& rendered);

}  // namespace r1::runner
