// HTTP client of one r1-runner (runner/protocol messages over loopback).
//
// Each call opens its own connection, so one runner_client may be used from
// many threads at once. Errors: unavailable when the runner cannot be reached
// or the connection drops mid-stream (the runner died), the runner's own error
// code otherwise, cancelled when the chunk callback asked to stop.
#pragma once

#include <functional>
#include <string>

#include "r1/base/status.h"
#include "r1/runner_protocol/messages.h"

namespace r1::daemon {

namespace rp = r1::runner_protocol;

// What one completion measured, for the daemon's metrics.
struct completion_stats {
  double first_token_s = -1;  // from sending the request to the first generated token; -1: none
  rp::completion_timings timings;
  bool finished = false;      // a final chunk arrived
};
using completion_observer = std::function<void(const completion_stats&)>;

class runner_client {
 public:
  runner_client(std::string host, int port) : host_(std::move(host)), port_(port) {}
  // Called after every complete() (set once, before the client is shared).
  void set_observer(completion_observer o) { observer_ = std::move(o); }

  result<rp::health_response> health() const;
  result<rp::load_info> info() const;
  // Streams /completion; `on_chunk` sees every chunk, the last has done=true.
  // Returning false from `on_chunk` closes the connection, which cancels the
  // request in the runner. The calling thread's request id (r1/base/log.h) goes
  // to the runner as the request's request_id and an X-Request-Id header.
  status complete(const rp::completion_request& req, const std::function<bool(const rp::completion_chunk&)>& on_chunk) const;
  result<rp::tokenize_response> tokenize(const rp::tokenize_request& req) const;
  result<rp::detokenize_response> detokenize(const rp::detokenize_request& req) const;
  result<rp::render_response> render(const rp::render_request& req) const;
  result<rp::embedding_response> embed(const rp::embedding_request& req) const;

  int port() const { return port_; }

 private:
  result<rp::json> call(const std::string& path, const rp::json* body, int timeout_s) const;
  status complete_inner(const rp::completion_request& req,
                        const std::function<bool(const rp::completion_chunk&)>& on_chunk) const;
  std::string host_;
  int port_;
  completion_observer observer_;
};

}  // namespace r1::daemon
