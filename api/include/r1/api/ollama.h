// Ollama-compatible request types (/api/*) and their validated parsing.
//
// Every parse_* takes the decoded JSON body and returns the typed request or
// invalid_argument naming the field that is wrong; nothing throws. Option
// values are checked later, when they are layered (options.h). Plain data.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "r1/base/status.h"

namespace r1::api {

using json = nlohmann::json;

struct message {
  std::string role;          // system, user, assistant, tool (lower-cased)
  std::string content;
  std::string thinking;      // earlier reasoning sent back by a client (accepted, not used for R1)
  std::vector<std::string> images;
  json tool_calls;           // null or an array
  std::string tool_name;
  std::string tool_call_id;
};

// `think`: absent, a bool, or a level ("low", "medium", "high", "max"; a level means on).
struct think_option {
  bool set = false;
  bool enabled = false;
  std::string level;
};

// `keep_alive`: absent, or milliseconds (negative = forever, 0 = unload when done).
struct keep_alive_option {
  bool set = false;
  int64_t ms = 0;
};

// Parses a JSON number (seconds) or a duration string ("5m", "1h30m", "-1").
result<keep_alive_option> parse_keep_alive(const json& v);
result<think_option> parse_think(const json& v);

struct generate_request {
  std::string model;
  std::string prompt;
  std::string suffix;
  std::string system;
  std::string template_text;      // `template`
  std::optional<std::vector<int32_t>> context;
  bool stream = true;
  bool raw = false;
  json format;                    // null, "json" or a schema object
  keep_alive_option keep_alive;
  json options;                   // null or an object
  think_option think;
  bool truncate = true;
  bool shift = true;
  bool logprobs = false;
  int32_t top_logprobs = 0;
  bool debug_render_only = false;
  std::vector<std::string> images;
};

struct chat_request {
  std::string model;
  std::vector<message> messages;
  json tools;                     // null or an array
  json format;
  json options;
  bool stream = true;
  keep_alive_option keep_alive;
  think_option think;
  bool truncate = true;
  bool shift = true;
  bool logprobs = false;
  int32_t top_logprobs = 0;
  bool debug_render_only = false;
};

struct embed_request {
  std::string model;
  std::vector<std::string> input;
  bool truncate = true;
  int32_t dimensions = 0;         // 0: all
  json options;
  keep_alive_option keep_alive;
  bool legacy = false;            // /api/embeddings: one prompt, not normalized
};

// pull, push, show, delete: {model (or name), insecure?, stream?, verbose?}
struct model_request {
  std::string model;
  bool insecure = false;
  bool stream = true;
  bool verbose = false;
};

struct copy_request {
  std::string source;
  std::string destination;
};

struct create_request {
  std::string model;
  std::string from;                          // a model name, or empty when `files` is used
  std::map<std::string, std::string> files;  // file name -> "sha256:<hex>" uploaded through /api/blobs
  std::optional<std::string> template_text;
  std::optional<std::string> system;
  std::vector<std::string> license;
  json parameters;                           // null or an object (options layer)
  std::vector<message> messages;
  std::string quantize;
  bool stream = true;
};

// /api/bench (r1's own): speed of a stored model, measured the way llama-bench measures it
// (pp: one prompt of n_prompt random tokens; tg: n_gen single-token decodes), each test
// starting with n_depth random tokens in the cache. Zero turns a test off.
struct bench_request {
  std::string model;
  int32_t n_prompt = 512;
  int32_t n_gen = 128;
  int32_t n_depth = 0;
  int32_t repetitions = 3;
  int32_t threads = 0;          // 0: the physical cores
  std::string kv_type = "f16";  // f16, f32 or q8_0
  bool bandwidth = false;       // also measure the memory read bandwidth (the decode roofline)
};

result<message> parse_message(const json& j, std::string_view what);
result<generate_request> parse_generate_request(const json& j);
result<chat_request> parse_chat_request(const json& j);
result<embed_request> parse_embed_request(const json& j);        // /api/embed
result<embed_request> parse_embeddings_request(const json& j);   // /api/embeddings (legacy)
result<model_request> parse_model_request(const json& j, std::string_view what);
result<copy_request> parse_copy_request(const json& j);
result<create_request> parse_create_request(const json& j);
result<bench_request> parse_bench_request(const json& j);

// True for "sha256:" followed by exactly 64 lower-case hex digits.
bool is_valid_digest(std::string_view digest);

}  // namespace r1::api
