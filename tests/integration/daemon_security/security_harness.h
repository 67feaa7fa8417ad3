// Helpers for the service tests: curl as a real HTTP client, a CA and server
// certificate made with the openssl CLI, and r1d started with arbitrary flags.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "r1/test_support/daemon_process.h"

namespace r1::test {

struct http_reply {
  int status = 0;                              // 0: curl failed (see curl_exit, err)
  int curl_exit = 0;
  std::map<std::string, std::string> headers;  // lowercase names, last value wins
  std::string body;
  std::string err;
  nlohmann::json json() const;                 // null when the body is not JSON
};
// Runs `curl -sS -i <args>`.
http_reply curl(const std::vector<std::string>& args);

// Writes ca.pem, server.pem (for 127.0.0.1 and localhost, signed by the CA) and
// server.key into `dir`; "" on success, else what failed.
std::string make_tls_files(const std::string& dir);

// r1d for these tests: the shared harness with --context-length 512, ready when it logs
// "r1d listening on" (so HTTPS, key-only and Unix-socket setups start the same way).
std::unique_ptr<test_support::daemon_process> start_r1d(const std::vector<std::string>& flags);

// Parses a /metrics page with the Prometheus client library (parse_metrics.py):
// {"samples": {"name{k=v,...}": value}, "types": {...}}; error text on failure.
result<nlohmann::json> parse_metrics(const std::string& text);

}  // namespace r1::test
