#include "r1/api/http_line_reader.h"

#include <httplib.h>

namespace r1::api {

namespace {
constexpr size_t k_max_error_body = 65536;
}  // namespace

void http_line_reader::attach(httplib::Request& req) {
  req.response_handler = [this](const httplib::Response& r) {
    http_status_ = r.status;
    return true;
  };
  req.content_receiver = [this](const char* data, size_t len, uint64_t, uint64_t) { return receive(data, len); };
}

bool http_line_reader::receive(const char* data, size_t len) {
  if (!ok_status()) {
    if (error_body_.size() < k_max_error_body) error_body_.append(data, len);
    return true;
  }
  pending_.append(data, len);
  size_t start = 0;
  for (size_t nl; (nl = pending_.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string_view line(pending_.data() + start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (!on_line_(line)) {
      stopped_ = true;
      return false;
    }
  }
  pending_.erase(0, start);
  return true;
}

}  // namespace r1::api
