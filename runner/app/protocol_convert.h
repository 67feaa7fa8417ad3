// Conversions between runner_protocol messages and engine types (HTTP threads only).
#pragma once

#include <string>

#include "r1/engine/generator.h"
#include "r1/engine/tokenizer.h"
#include "r1/runner_protocol/messages.h"
#include "task_channel.h"

namespace r1::runner {

// Sampling and stopping options of a request; seed -1 becomes a random seed.
engine::generation_params to_generation_params(const runner_protocol::completion_request& r, bool reasoning_open);

// One event as a protocol chunk (token texts filled from the tokenizer). An event carrying an
// error becomes a final chunk with stop_reason "error".
runner_protocol::completion_chunk to_chunk(const task_event& e, const engine::tokenizer& tok);

// Appends a streamed chunk to an aggregate (non-streamed responses).
void append_chunk(runner_protocol::completion_chunk& all, runner_protocol::completion_chunk c);

// Serialises JSON; invalid UTF-8 (partial token pieces) is replaced, never thrown on.
std::string dump_json(const runner_protocol::json& j);

}  // namespace r1::runner
