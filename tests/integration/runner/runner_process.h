// Test helpers: a real r1-runner child process on a loopback port, and a raw HTTP/1.1 client
// (plain sockets, so tests can send garbage, read streams line by line and hang up mid-stream).
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "r1/base/status.h"

namespace r1::runner_test {

class runner_process {
 public:
  // Spawns build/bin/r1-runner with args + "--port 0", reads "listening on HOST:PORT".
  static result<std::unique_ptr<runner_process>> start(const std::vector<std::string>& args);
  ~runner_process();

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // Polls /health until "ready" (or error / timeout).
  status wait_ready(int timeout_ms = 30000);
  // Sends SIGTERM and waits; returns the exit status (or -1 on timeout, after SIGKILL).
  int terminate(int timeout_ms = 10000);
  bool alive();

 private:
  runner_process() = default;
  pid_t pid_ = -1;
  int port_ = 0;
  int stdout_fd_ = -1;
};

struct http_response {
  int status = 0;
  std::string body;  // de-chunked
};

// One request on a fresh connection (Connection: close); timeout for the whole exchange.
result<http_response> http_request(int port, const std::string& method, const std::string& path,
                                   const std::string& body = {}, int timeout_ms = 30000);
// Writes raw bytes to the port and reads whatever comes back until the peer closes.
result<std::string> raw_exchange(int port, const std::string& bytes, int timeout_ms = 5000);

// A streaming request whose lines are read one at a time; close() hangs up.
class http_stream {
 public:
  static result<std::unique_ptr<http_stream>> open(int port, const std::string& path, const std::string& body);
  ~http_stream();
  // Next NDJSON line of the de-chunked body; nullopt at the end or on timeout.
  std::optional<std::string> next_line(int timeout_ms = 30000);
  void close();

 private:
  int fd_ = -1;
  std::string raw_;      // undecoded bytes after the headers
  std::string decoded_;  // de-chunked body not yet returned
  bool headers_done_ = false;
  bool eof_ = false;
  bool fill(int timeout_ms);
  void decode();
};

}  // namespace r1::runner_test
