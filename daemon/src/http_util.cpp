#include <string>

#include "context.h"
#include "r1/api/openai.h"

namespace r1::daemon {

int http_status_for(const status& s) {
  switch (s.code()) {
    case error_code::ok: return 200;
    case error_code::invalid_argument: return 400;
    case error_code::already_exists: return 400;
    case error_code::not_found: return 404;
    case error_code::permission_denied: return 403;
    case error_code::resource_exhausted: return 503;
    case error_code::cancelled: return 499;
    default: return 500;
  }
}

void reply_json(httplib::Response& res, const json& j, int http_status) {
  res.status = http_status;
  res.set_content(api::dump(j), "application/json; charset=utf-8");
}

void reply_error(httplib::Response& res, const status& s) {
  int code = http_status_for(s);
  if (code == 503) res.set_header("Retry-After", "1");
  reply_json(res, json{{"error", s.message()}}, code);
}

void reply_openai_error(httplib::Response& res, const status& s) {
  int code = http_status_for(s);
  if (code == 503) res.set_header("Retry-After", "1");
  const char* type = code == 400   ? "invalid_request_error"
                     : code == 404 ? "not_found_error"
                     : code == 401 ? "authentication_error"
                     : code == 403 ? "permission_error"
                     : code == 503 ? "rate_limit_error"
                                   : "server_error";
  reply_json(res, api::openai_error(s.message(), type), code);
}

result<json> read_json_body(const httplib::ContentReader& reader, uint64_t max_bytes) {
  std::string body;
  bool too_big = false;
  reader([&](const char* data, size_t len) {
    if (body.size() + len > max_bytes) {
      too_big = true;
      return false;
    }
    body.append(data, len);
    return true;
  });
  if (too_big) return resource_exhausted("request body is larger than " + std::to_string(max_bytes) + " bytes");
  if (body.empty()) return invalid_argument("missing request body");
  return api::parse_json(body, "request body");
}

void post_json(httplib::Server& srv, const std::string& path, daemon_context& ctx, bool openai_errors, json_handler h) {
  srv.Post(path, [&ctx, openai_errors, h](const httplib::Request& req, httplib::Response& res,
                                          const httplib::ContentReader& reader) {
    auto body = read_json_body(reader, ctx.settings.max_request_bytes);
    if (!body.ok()) {
      status st = body.error();
      if (st.code() == error_code::resource_exhausted) {
        // 413, not 503: retrying the same body will not help.
        res.status = 413;
        if (openai_errors) reply_json(res, api::openai_error(st.message(), "invalid_request_error"), 413);
        else reply_json(res, json{{"error", st.message()}}, 413);
        return;
      }
      if (openai_errors) reply_openai_error(res, st);
      else reply_error(res, st);
      return;
    }
    h(req, res, *body);
  });
}

void delete_json(httplib::Server& srv, const std::string& path, daemon_context& ctx, json_handler h) {
  srv.Delete(path, [&ctx, h](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    auto body = read_json_body(reader, ctx.settings.max_request_bytes);
    if (!body.ok()) return reply_error(res, body.error());
    h(req, res, *body);
  });
}

}  // namespace r1::daemon
