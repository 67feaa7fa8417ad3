// Shared steps of every inference route (Ollama and OpenAI): layering options,
// building the runner request, acquiring a runner, and collecting results.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "context.h"
#include "r1/api/ollama.h"
#include "r1/api/options.h"
#include "r1/api/tools.h"

namespace r1::daemon {

// Built-in defaults < the model's params layer < the request's options.
// Unknown request options are logged and ignored; bad values are invalid_argument.
result<api::model_options> layer_options(const model_entry& m, const json& request_options);

int64_t keep_alive_ms(const daemon_context& ctx, const api::keep_alive_option& ka);

// Resolves a model for inference: not_found as "model 'x' not found".
result<model_entry> resolve_model(daemon_context& ctx, const std::string& name);

// Starts or reuses a runner for `m` with the load-time options of `opts`.
result<std::unique_ptr<lease>> acquire_runner(daemon_context& ctx, const model_entry& m, const api::model_options& opts,
                                              int64_t keep_alive);

// Copies sampling and stopping options into a runner request.
void apply_sampling(const api::model_options& opts, rp::completion_request* req);

// Chat messages for the runner: the model's MESSAGE layer first, a system
// message (request's, else the model's SYSTEM) unless the conversation has one.
std::vector<rp::chat_message> runner_messages(const model_entry& m, const std::vector<api::message>& msgs,
                                              const std::string& system_override);

// Whether reasoning is on: the request's think, else on for thinking models.
// invalid_argument when asked of a model without the capability.
result<std::optional<bool>> resolve_think(const model_entry& m, const api::think_option& think);

// Tools for the runner: with tool_choice none (or no tools) the model never sees them;
// otherwise the tools, the choice and the forced function's name.
void apply_tools(const json& tools, const api::tool_choice_option& choice, rp::completion_request* req);

// The reasoning budget of a request: an explicit one (>= 0, Anthropic budget_tokens), else the
// think level's (api::reasoning_budget_for_level), else the model's reasoning_budget option.
int32_t reasoning_budget(const api::think_option& think, int32_t explicit_budget, const api::model_options& opts);

// Runner tool calls ({id, name, arguments text}) in OpenAI form: {id, type, function: {name, arguments}};
// `index` adds each call's position (streaming deltas).
json openai_tool_calls(const json& calls, size_t first_index, bool with_index);
// In Ollama form: {id, function: {index, name, arguments: <object>}}.
json ollama_tool_calls(const json& calls, size_t first_index);
// A call's arguments text as an object ({} when it does not parse, which the runner prevents).
json arguments_object(const std::string& text);

// Everything a completion produced, for non-streaming replies.
struct completion_result {
  std::string content;
  std::string thinking;
  json tool_calls = json::array();
  std::vector<int32_t> tokens;
  std::vector<rp::token_probs> probs;
  rp::completion_chunk final_chunk;
};
// Runs a completion to the end. Errors: the runner's, or unavailable when it died.
result<completion_result> run_completion(lease& l, const rp::completion_request& req);

// Ollama's done_reason for a runner stop reason.
std::string done_reason(const std::string& stop_reason);
// OpenAI's finish_reason for a runner stop reason.
std::string finish_reason(const std::string& stop_reason);

// Ollama's logprobs entries ({token, logprob, bytes, top_logprobs}).
json ollama_logprobs(const std::vector<rp::token_probs>& probs, int top_n);

}  // namespace r1::daemon
