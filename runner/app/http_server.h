// The HTTP side of r1-runner (cpp-httplib): parses requests into tasks, hands them to the
// inference loop and formats its events as the JSON of runner_protocol/messages.h.
//
// Malformed requests get 400 with an error_response naming the problem; requests that need
// the model while it loads get 503. A streamed completion whose client goes away is
// cancelled, which frees its slot. Thread safety: handlers run on httplib's worker threads;
// bind() and listen() on the main thread, stop() from any thread.
#pragma once

#include <memory>
#include <string>

#include "r1/base/status.h"
#include "runner_state.h"

namespace r1::runner {

class http_server {
 public:
  explicit http_server(runner_state& st);
  ~http_server();

  // Binds host:port (port 0: any free port) and returns the bound port.
  result<int> bind(const std::string& host, int port);
  // Serves until stop(); returns false if the listener failed.
  bool listen();
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace r1::runner
