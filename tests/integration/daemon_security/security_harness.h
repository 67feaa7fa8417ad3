// Helpers for the service tests: curl as a real HTTP client, a CA and server
// certificate made with the openssl CLI, and r1d started with arbitrary flags
// (readiness from its "r1d listening on" line, so HTTPS and key-only setups
// start the same way).
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon_harness.h"
#include "r1/test_support/temp_dir.h"

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

class r1d_process {
 public:
  // Starts r1d on a free loopback port with its own model store plus `flags`.
  static std::unique_ptr<r1d_process> start(const std::vector<std::string>& flags);
  ~r1d_process();

  int port() const { return port_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_.path(); }
  std::string log() const;
  // Runs r1 with R1_HOST (default: this daemon over http) and extra environment.
  proc_result cli(const std::vector<std::string>& args, std::map<std::string, std::string> env = {}) const;
  int terminate();

 private:
  r1d_process() = default;
  test_support::temp_dir dir_{"r1d-svc"};
  pid_t pid_ = -1;
  int port_ = 0;
};

// Parses a /metrics page with the Prometheus client library (parse_metrics.py):
// {"samples": {"name{k=v,...}": value}, "types": {...}}; error text on failure.
result<nlohmann::json> parse_metrics(const std::string& text);

}  // namespace r1::test
