// The daemon <-> r1-runner protocol: HTTP/1.1 + JSON on a private loopback port
// or Unix socket. Types and their JSON only; no I/O here.
//
// Endpoints served by r1-runner (docs/dev/runner-protocol.md has examples):
//   GET  /health      -> health_response         (200 while loading too; status says which)
//   GET  /info        -> load_info               (503 until loaded)
//   POST /completion  completion_request -> NDJSON stream of completion_chunk, the last with done=true
//                     (stream=false: one completion_chunk with everything and done=true)
//   POST /tokenize    tokenize_request   -> tokenize_response
//   POST /detokenize  detokenize_request -> detokenize_response
//   POST /render      render_request     -> render_response     (chat template only, no inference)
//   POST /embedding   embedding_request  -> embedding_response
// Errors: a non-2xx status with error_response; inside a stream, a final chunk with done=true and
// stop_reason "error" carrying `error`.
//
// Parsing: every from_json() validates types and ranges and returns invalid_argument naming
// the field; it never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "r1/base/status.h"

namespace r1::runner_protocol {

using json = nlohmann::json;

// ---- /health
struct health_response {
  std::string status;    // "loading", "ready", "error"
  double progress = 0;   // 0..1 while loading
  std::string error;     // set when status == "error"
};
json to_json(const health_response& r);
result<health_response> health_from_json(const json& j);

// ---- /info: what the runner loaded and what it costs
// One GPU holding layers: what the runner really allocated there.
struct device_load {
  std::string backend;   // "vulkan", "cuda"
  int index = 0;
  std::string name;
  uint32_t first_layer = 0, n_layers = 0;
  bool output = false;   // output norm + head there
  uint64_t bytes = 0;    // weights + KV cache + scratch buffers
};
struct load_info {
  std::string architecture;       // "qwen2", "llama", "qwen3", "deepseek2"
  std::string model_name;         // general.name
  std::string file_type;          // "Q4_K_M"
  uint64_t parameter_count = 0;
  uint32_t n_ctx = 0;             // context per slot
  uint32_t n_ctx_train = 0;
  uint32_t n_parallel = 1;
  uint32_t n_vocab = 0;
  uint32_t n_embd = 0;
  uint32_t n_layer = 0;
  std::string kv_type;            // "f16", "f32", "q8_0"
  uint32_t threads = 0;
  std::string backend;            // "cpu", "vulkan", "cuda"
  std::string kernel_path;        // "avx512", "avx2", "scalar"
  uint64_t weights_bytes = 0;     // mmapped weight bytes
  uint64_t kv_bytes = 0;
  uint64_t scratch_bytes = 0;
  uint64_t vram_bytes = 0;        // bytes placed on GPUs (sum of devices[].bytes; 0 on CPU)
  uint32_t n_gpu_layers = 0;      // layers running on GPUs
  std::vector<device_load> devices;  // GPUs holding layers, in layer order (empty on CPU)
  double load_ms = 0;
  bool has_chat_template = false;
  bool thinking = false;          // the template opens a <think> block
};
json to_json(const load_info& r);
result<load_info> load_info_from_json(const json& j);

// ---- sampling and stopping options (llama.cpp semantics and defaults)
struct sampling_options {
  double temperature = 0.8;
  int32_t top_k = 40;
  double top_p = 0.95;
  double min_p = 0.05;
  double typical_p = 1.0;
  int32_t repeat_last_n = 64;
  double repeat_penalty = 1.0;
  double presence_penalty = 0.0;
  double frequency_penalty = 0.0;
  int64_t seed = -1;              // -1: random
};

struct chat_message {
  std::string role;               // system, user, assistant, tool
  std::string content;
  std::string reasoning_content;  // earlier thinking; templates usually drop it
  json tool_calls;                // null or an array as OpenAI sends it
  std::string tool_call_id;
  std::string name;
};

// ---- /completion
struct completion_request {
  // Exactly one of: prompt text, prompt tokens, or messages (rendered with the model's template).
  std::optional<std::string> prompt;
  std::optional<std::vector<int32_t>> prompt_tokens;
  std::optional<std::vector<chat_message>> messages;
  bool add_generation_prompt = true;   // messages only
  json tools;                          // messages only; null or array
  std::optional<bool> think;           // messages only; nullopt = the template's default
  // Structured output: a constraint spec ({"parts":[{"text":...} | {"schema":...,"strict":bool}]},
  // docs/dev/constrain.md) the answer must match; null: free text. Unsupported schemas are 400.
  json constraint;
  // Tool calls (messages with tools only): the runner finds calls in the model's output in the
  // template's format and reports them in completion_chunk::tool_calls instead of as content.
  // "auto": the model decides; "required": the answer must be a call (to any tool);
  // "function": the answer must be a call to `tool_name`. Forced calls start right after the
  // reasoning and their arguments follow the tool's JSON schema.
  std::string tool_choice = "auto";
  std::string tool_name;
  // Reasoning tokens allowed before "</think>" is forced and the answer follows; -1: unlimited.
  int32_t reasoning_budget = -1;
  bool add_special = true;             // prompt text: add BOS as the model's tokenizer says
  bool parse_special = true;           // prompt text: special-token text becomes special tokens

  sampling_options sampling;
  int32_t n_predict = -1;              // -1: until end-of-generation or context full
  std::vector<std::string> stop;
  int32_t n_probs = 0;                 // top-N logprobs per generated token, 0..20
  bool prompt_logprobs = false;        // also logprobs of each prompt token (teacher forcing)
  bool split_reasoning = true;         // separate <think>...</think> into `thinking`
  bool stream = true;
  bool cache_prompt = true;            // reuse a matching prompt prefix in the KV cache
  int32_t slot = -1;                   // -1: any free slot
  std::string request_id;              // for log lines
};
json to_json(const completion_request& r);
result<completion_request> completion_request_from_json(const json& j);

struct token_logprob {
  int32_t id = 0;
  std::string token;               // the token's text (may be a partial UTF-8 sequence)
  std::vector<uint8_t> bytes;
  double logprob = 0;
};
struct token_probs {
  token_logprob chosen;
  std::vector<token_logprob> top;  // n_probs entries, most likely first
};

struct completion_timings {
  int32_t prompt_n = 0;            // prompt tokens evaluated (not counting cached ones)
  double prompt_ms = 0;
  int32_t predicted_n = 0;
  double predicted_ms = 0;
  int32_t cached_n = 0;            // prompt tokens reused from the cache
  int32_t prompt_tokens = 0;       // total prompt tokens
  int32_t reasoning_tokens = 0;    // generated tokens inside <think>
};

struct completion_chunk {
  std::string content;             // answer text of this step (UTF-8 complete)
  std::string thinking;            // reasoning text of this step
  std::vector<int32_t> tokens;
  std::vector<token_probs> probs;  // one per token when n_probs > 0
  bool done = false;
  // Final chunk only:
  std::string stop_reason;         // "stop" (EOG or stop string), "length", "context", "cancelled", "error"
  std::string stop_word;           // the stop string that matched, if any
  std::string error;               // stop_reason == "error"
  bool truncated = false;          // the prompt was cut to fit the context (reported, never silent)
  completion_timings timings;
  std::vector<token_probs> prompt_probs;  // prompt_logprobs: one per prompt token after the first
  std::string rendered_prompt;     // messages requests: the text the template produced
  // Tool calls completed in this step (all of them when not streaming), each
  // {"id": "call_...", "name": "...", "arguments": "<JSON object text>"}; null when none.
  json tool_calls;
};
json to_json(const completion_chunk& r);
result<completion_chunk> completion_chunk_from_json(const json& j);

// ---- /tokenize, /detokenize, /render, /embedding
struct tokenize_request {
  std::string content;
  bool add_special = false;
  bool parse_special = true;
  bool with_pieces = false;
  bool rendered = false;    // content is a rendered chat prompt: tokenized as /completion does
};
struct tokenize_response {
  std::vector<int32_t> tokens;
  std::vector<std::string> pieces;  // with_pieces only
};
struct detokenize_request {
  std::vector<int32_t> tokens;
};
struct detokenize_response {
  std::string content;
};
struct render_request {
  std::vector<chat_message> messages;
  bool add_generation_prompt = true;
  json tools;
  std::optional<bool> think;
};
struct render_response {
  std::string prompt;
};
struct embedding_request {
  std::vector<std::string> input;   // one or more texts
  bool normalize = true;
  bool truncate = true;             // cut inputs longer than the context (else an error)
};
struct embedding_response {
  std::vector<std::vector<float>> embeddings;
  int32_t prompt_tokens = 0;
};
struct error_response {
  std::string error;
  std::string code;                 // error_code_name()
};

json to_json(const tokenize_request& r);
result<tokenize_request> tokenize_request_from_json(const json& j);
json to_json(const tokenize_response& r);
result<tokenize_response> tokenize_response_from_json(const json& j);
json to_json(const detokenize_request& r);
result<detokenize_request> detokenize_request_from_json(const json& j);
json to_json(const detokenize_response& r);
result<detokenize_response> detokenize_response_from_json(const json& j);
json to_json(const render_request& r);
result<render_request> render_request_from_json(const json& j);
json to_json(const render_response& r);
result<render_response> render_response_from_json(const json& j);
json to_json(const embedding_request& r);
result<embedding_request> embedding_request_from_json(const json& j);
json to_json(const embedding_response& r);
result<embedding_response> embedding_response_from_json(const json& j);
json to_json(const error_response& r);
result<error_response> error_response_from_json(const json& j);

json to_json(const chat_message& m);
result<chat_message> chat_message_from_json(const json& j);

// Parses text as JSON without throwing; invalid_argument with the parser's position on failure.
result<json> parse_json(std::string_view text);

}  // namespace r1::runner_protocol
