// The constraint of a forced tool call (tool_choice "required" or "function"): the call block
// of the template's format with the function's parameters schema for its arguments, so the
// answer is exactly one call whose arguments validate. The constraint starts after any
// reasoning, like every constraint.
//
//   one candidate:       prefix(name) + parameters schema + suffix (engine::forced_call_frame)
//   several (required):  Qwen / Llama 3.1: one JSON schema, anyOf per tool of {name: const,
//                        arguments|parameters: schema}; DeepSeek: the name as a JSON string
//                        (enum of the names; the parser takes a quoted name) and arguments
//                        matching any tool's schema (anyOf).
//
// Pure function; thread safe. Errors: invalid_argument when tool_choice names a function that
// is not among the tools, or when the request also carries its own constraint.
#pragma once

#include <optional>

#include "r1/base/status.h"
#include "r1/constrain/spec.h"
#include "r1/engine/tool_calls.h"
#include "r1/runner_protocol/messages.h"

namespace r1::runner {

// nullopt when no call is forced (no tools, or tool_choice "auto").
result<std::optional<constrain::spec>> forced_call_spec(const runner_protocol::completion_request& r,
                                                        engine::tool_call_format format);

}  // namespace r1::runner
