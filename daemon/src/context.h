// Everything a route handler needs, owned by the server. Shared by reference
// with every handler thread; each member documents its own thread safety.
#pragma once

#include <memory>
#include <string>

#include <httplib.h>

#include "api_keys.h"
#include "metrics.h"
#include "r1/api/json_util.h"
#include "r1/daemon/daemon_config.h"
#include "r1/daemon/model_catalog.h"
#include "r1/daemon/runner_launcher.h"
#include "r1/daemon/scheduler.h"
#include "r1/registry/model_store.h"
#include "r1/registry/registry_client.h"

namespace r1::daemon {

using json = nlohmann::json;

struct daemon_context {
  daemon_settings settings;
  std::unique_ptr<registry::model_store> store;
  std::unique_ptr<model_catalog> catalog;
  std::unique_ptr<registry::registry_client> registry;
  std::unique_ptr<runner_launcher> launcher;
  std::unique_ptr<scheduler> sched;
  std::unique_ptr<daemon_metrics> metrics;  // thread-safe; created with the context
  std::unique_ptr<api_key_store> keys;      // thread-safe; opened by server::start
  std::string version = "0.1.0";
};

// ---- small HTTP helpers (http_util.cpp)

// HTTP status for an error code (the only place codes become statuses).
int http_status_for(const status& s);
// {"error": message} with the mapped status; 503 adds Retry-After.
void reply_error(httplib::Response& res, const status& s);
void reply_json(httplib::Response& res, const json& j, int http_status = 200);
// The OpenAI error shape with the mapped status.
void reply_openai_error(httplib::Response& res, const status& s);

// Reads a JSON request body through the content reader, refusing more than
// `max_bytes` (resource_exhausted) and malformed JSON (invalid_argument).
result<json> read_json_body(const httplib::ContentReader& reader, uint64_t max_bytes);

using json_handler = std::function<void(const httplib::Request&, httplib::Response&, const json& body)>;
// Registers POST `path` whose handler receives the decoded body; errors reading
// it are answered in the Ollama or OpenAI error shape.
void post_json(httplib::Server& srv, const std::string& path, daemon_context& ctx, bool openai_errors, json_handler h);
void delete_json(httplib::Server& srv, const std::string& path, daemon_context& ctx, json_handler h);

// Route groups.
void add_inference_routes(httplib::Server& srv, daemon_context& ctx);  // generate, chat, embed
void add_openai_routes(httplib::Server& srv, daemon_context& ctx);
void add_anthropic_routes(httplib::Server& srv, daemon_context& ctx);   // /v1/messages, /v1/messages/count_tokens
void add_model_routes(httplib::Server& srv, daemon_context& ctx);      // tags, show, copy, delete, ps, version
void add_transfer_routes(httplib::Server& srv, daemon_context& ctx);   // pull, push, create, blobs
void add_service_routes(httplib::Server& srv, daemon_context& ctx);    // /metrics, /api/keys
void add_bench_routes(httplib::Server& srv, daemon_context& ctx);      // /api/bench

}  // namespace r1::daemon
