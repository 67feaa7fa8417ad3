// Reads a streamed HTTP reply (NDJSON, SSE) line by line over cpp-httplib:
// the one piece of streaming code the daemon's client (/api/*, /v1/*) and the
// daemon's runner client (/completion) share.
//
//   http_line_reader lines([&](std::string_view line) { ...; return true; });
//   httplib::Request req;  ...
//   lines.attach(req);      // installs req.response_handler and req.content_receiver
//   http.send(req, res, err);
//   if (!lines.ok_status()) ... lines.error_body() ...
//
// Lines of a 2xx body go to `on_line` without their "\n" (or "\r\n"); empty
// lines are skipped. Returning false from `on_line` aborts the transfer. A
// non-2xx body is not split but kept (its first 64 KiB) for the error message.
// Text after the last newline (a reply that is one object without a newline)
// stays in rest().
//
// Ownership: the reader must outlive the request's send(). Not thread-safe.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace httplib {
struct Request;
}

namespace r1::api {

class http_line_reader {
 public:
  using line_fn = std::function<bool(std::string_view line)>;
  explicit http_line_reader(line_fn on_line) : on_line_(std::move(on_line)) {}
  http_line_reader(const http_line_reader&) = delete;
  http_line_reader& operator=(const http_line_reader&) = delete;

  void attach(httplib::Request& req);

  int http_status() const { return http_status_; }  // 0 until the reply's headers arrived
  bool ok_status() const { return http_status_ >= 200 && http_status_ < 300; }
  bool stopped() const { return stopped_; }          // on_line returned false
  const std::string& error_body() const { return error_body_; }
  const std::string& rest() const { return pending_; }

 private:
  bool receive(const char* data, size_t len);
  line_fn on_line_;
  int http_status_ = 0;
  bool stopped_ = false;
  std::string pending_, error_body_;
};

}  // namespace r1::api
