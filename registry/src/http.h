// A small libcurl wrapper for the registry client (private to r1::registry).
// One call = one HTTP exchange: redirects are NOT followed here (the session
// decides whether Authorization may travel with them). Thread-safe: every call
// uses its own easy handle.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "r1/base/status.h"

namespace r1::registry::detail {

// Shared token bucket for the optional bandwidth cap. Thread-safe.
class rate_limiter {
 public:
  explicit rate_limiter(uint64_t bytes_per_s) : rate_(bytes_per_s) {}
  // Blocks until `bytes` may pass (no-op when unlimited).
  void acquire(uint64_t bytes);
  bool limited() const { return rate_ > 0; }

 private:
  uint64_t rate_;
  std::atomic<int64_t> next_free_ns_{0};
};

using header_map = std::multimap<std::string, std::string>;  // keys lower-case

struct http_request {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  // Request body: either bytes, or `body_length` bytes from `body_fd` at `body_offset`.
  std::string body;
  int body_fd = -1;
  uint64_t body_offset = 0;
  uint64_t body_length = 0;
  // Buffered response bodies larger than this fail with resource_exhausted.
  size_t max_body = size_t{4} << 20;
  // For 2xx answers: called once with the status and headers before the first
  // body byte; returning false aborts. Then `on_data` receives the body instead
  // of the buffer; returning false aborts (the sink keeps its own reason).
  std::function<bool(long, const header_map&)> on_headers;
  std::function<bool(const char*, size_t)> on_data;
  int64_t connect_timeout_ms = 30000;
  int64_t stall_timeout_ms = 30000;  // no byte for this long => stalled
  std::string ca_file;
  const std::atomic<bool>* cancel = nullptr;
  rate_limiter* limiter = nullptr;
};

struct http_response {
  long status = 0;
  header_map headers;
  std::string body;       // buffered body (non-2xx, or 2xx without on_data)
  r1::status transport;   // ok, or what went wrong below HTTP
  bool stalled = false;   // the transfer was cut by the stall detector
  bool sink_aborted = false;  // on_headers/on_data returned false

  std::string header(const std::string& lower_name) const;
};

http_response http_perform(const http_request& req);

// URL helpers. parse_url fills scheme/host(with port)/rest; false if malformed.
struct url_parts {
  std::string scheme;
  std::string authority;  // host[:port]
  std::string path_query;
};
bool parse_url(const std::string& url, url_parts* out);
// Resolves a Location header against the URL it came from.
std::string resolve_url(const std::string& base, const std::string& location);
std::string url_escape(const std::string& s);

}  // namespace r1::registry::detail
