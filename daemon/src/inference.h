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

// Everything a completion produced, for non-streaming replies.
struct completion_result {
  std::string content;
  std::string thinking;
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
