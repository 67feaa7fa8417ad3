// The HTTP client of the r1 daemon, used by the CLI and by the tests.
//
// Speaks JSON, NDJSON streams (/api/*) and SSE streams (/v1/*). Errors come
// back as r1::status: a refused connection is `unavailable` with a message
// that says how to start the daemon; an HTTP error maps its status (400 ->
// invalid_argument, 401/403 -> permission_denied, 404 -> not_found, 503 ->
// unavailable, others -> internal) and carries the server's error message.
// An `{"error": ...}` line inside a stream ends it with `internal`.
//
// One client holds one keep-alive connection: use it from one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "r1/base/status.h"

namespace r1::api {

using json = nlohmann::json;

struct endpoint {
  std::string scheme = "http";  // "http", "https" or "unix"
  std::string host = "127.0.0.1";
  int port = 11434;
  std::string socket_path;      // scheme "unix": the socket file
  // "http://127.0.0.1:11434", "https://[::1]:11434", "unix:///run/r1/r1.sock".
  std::string to_string() const;
};

// Parses "host", "host:port", ":port", "http://host:port", "https://host:port",
// "[::1]:port" and "unix:///path/to/socket". An unspecified address (0.0.0.0,
// ::) becomes loopback for connecting when `for_connect` is true.
result<endpoint> parse_endpoint(std::string_view text, bool for_connect);

struct client_options {
  endpoint server;
  std::string api_key;             // sent as "Authorization: Bearer <key>" when set
  std::string ca_file;             // https: PEM file of CAs to trust (default: the system's)
  int connect_timeout_s = 5;
  int read_timeout_s = 3600;       // long: a model load plus a long generation
};

class client {
 public:
  explicit client(client_options opts);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  result<json> get(const std::string& path);
  result<std::string> get_text(const std::string& path);
  result<json> post(const std::string& path, const json& body);
  result<json> del(const std::string& path, const json& body);
  // The HTTP status of a HEAD request (200, 404, ...).
  result<int> head(const std::string& path);
  // Streams a file as the request body (POST); returns the HTTP status on 2xx.
  result<int> post_file(const std::string& path, const std::string& file);

  // POSTs `body` and calls `on_object` for each NDJSON line (or the single JSON
  // object of a non-streaming reply). Returning false from the callback cancels.
  status stream(const std::string& path, const json& body, const std::function<bool(const json&)>& on_object);
  // POSTs `body` and calls `on_data` with the text of each SSE `data:` line
  // (including "[DONE]"); comment lines are skipped.
  status stream_sse(const std::string& path, const json& body, const std::function<bool(std::string_view)>& on_data);

  const endpoint& server() const { return opts_.server; }

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  client_options opts_;
};

// Maps an HTTP status and body ({"error": "..."} or {"error": {"message": ...}}) to a status.
status status_from_http(int http_status, std::string_view body);

}  // namespace r1::api
