#include "r1/daemon/runner_client.h"

#include <httplib.h>

#include <chrono>

#include "r1/base/log.h"

#include "r1/api/http_line_reader.h"
#include "r1/api/json_util.h"

namespace r1::daemon {

namespace {

status from_runner_error(int http_status, const std::string& body) {
  auto j = api::parse_json(body, "runner error");
  std::string msg = "runner replied HTTP " + std::to_string(http_status);
  error_code code = http_status == 503 ? error_code::unavailable : error_code::internal;
  if (j.ok()) {
    auto e = rp::error_response_from_json(*j);
    if (e.ok() && !e->error.empty()) {
      msg = e->error;
      static const std::pair<const char*, error_code> codes[] = {
          {"invalid_argument", error_code::invalid_argument}, {"not_found", error_code::not_found},
          {"unavailable", error_code::unavailable},           {"resource_exhausted", error_code::resource_exhausted},
          {"cancelled", error_code::cancelled},               {"corrupt", error_code::corrupt}};
      for (const auto& [name, c] : codes)
        if (e->code == name) code = c;
      if (http_status == 400 && code == error_code::internal) code = error_code::invalid_argument;
    }
  }
  return {code, msg};
}

}  // namespace

result<rp::json> runner_client::call(const std::string& path, const rp::json* body, int timeout_s) const {
  httplib::Client http(host_, port_);
  http.set_connection_timeout(5, 0);
  http.set_read_timeout(timeout_s, 0);
  auto res = body ? http.Post(path, api::dump(*body), "application/json") : http.Get(path);
  if (!res) return unavailable("runner on port " + std::to_string(port_) + " is unreachable: " + httplib::to_string(res.error()));
  if (res->status < 200 || res->status >= 300) return from_runner_error(res->status, res->body);
  return api::parse_json(res->body, "runner reply " + path);
}

result<rp::health_response> runner_client::health() const {
  R1_ASSIGN_OR_RETURN(auto j, call("/health", nullptr, 5));
  return rp::health_from_json(j);
}

result<rp::load_info> runner_client::info() const {
  R1_ASSIGN_OR_RETURN(auto j, call("/info", nullptr, 10));
  return rp::load_info_from_json(j);
}

result<rp::tokenize_response> runner_client::tokenize(const rp::tokenize_request& req) const {
  auto body = rp::to_json(req);
  R1_ASSIGN_OR_RETURN(auto j, call("/tokenize", &body, 60));
  return rp::tokenize_response_from_json(j);
}

result<rp::detokenize_response> runner_client::detokenize(const rp::detokenize_request& req) const {
  auto body = rp::to_json(req);
  R1_ASSIGN_OR_RETURN(auto j, call("/detokenize", &body, 60));
  return rp::detokenize_response_from_json(j);
}

result<rp::render_response> runner_client::render(const rp::render_request& req) const {
  auto body = rp::to_json(req);
  R1_ASSIGN_OR_RETURN(auto j, call("/render", &body, 60));
  return rp::render_response_from_json(j);
}

result<rp::embedding_response> runner_client::embed(const rp::embedding_request& req) const {
  auto body = rp::to_json(req);
  R1_ASSIGN_OR_RETURN(auto j, call("/embedding", &body, 3600));
  return rp::embedding_response_from_json(j);
}

status runner_client::complete(const rp::completion_request& req,
                               const std::function<bool(const rp::completion_chunk&)>& on_chunk) const {
  if (!observer_) return complete_inner(req, on_chunk);
  completion_stats stats;
  auto start = std::chrono::steady_clock::now();
  status st = complete_inner(req, [&](const rp::completion_chunk& c) {
    if (stats.first_token_s < 0 && (!c.tokens.empty() || !c.content.empty() || !c.thinking.empty()))
      stats.first_token_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (c.done) {
      stats.finished = true;
      stats.timings = c.timings;
    }
    return on_chunk(c);
  });
  observer_(stats);
  return st;
}

status runner_client::complete_inner(const rp::completion_request& req,
                                     const std::function<bool(const rp::completion_chunk&)>& on_chunk) const {
  httplib::Client http(host_, port_);
  http.set_connection_timeout(5, 0);
  http.set_read_timeout(3600, 0);
  httplib::Request hreq;
  hreq.method = "POST";
  hreq.path = "/completion";
  rp::json body = rp::to_json(req);
  const std::string& rid = thread_request_id();
  if (req.request_id.empty() && !rid.empty()) body["request_id"] = rid;
  if (!rid.empty()) hreq.set_header("X-Request-Id", rid);
  hreq.body = api::dump(body);
  hreq.set_header("Content-Type", "application/json");
  bool saw_done = false, stopped = false;
  status parse_error;
  api::http_line_reader lines([&](std::string_view line) {
    auto j = api::parse_json(line, "runner chunk");
    auto chunk = j.ok() ? rp::completion_chunk_from_json(*j) : result<rp::completion_chunk>(j.error());
    if (!chunk.ok()) {
      parse_error = internal_error("runner sent a bad chunk: " + chunk.error().message());
      return false;
    }
    saw_done = saw_done || chunk->done;
    if (!on_chunk(*chunk)) {
      stopped = true;
      return false;
    }
    return true;
  });
  lines.attach(hreq);
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  bool ok = http.send(hreq, res, err);
  if (stopped) return cancelled("request cancelled");
  if (!parse_error.ok()) return parse_error;
  if (lines.http_status() != 0 && !lines.ok_status()) return from_runner_error(lines.http_status(), lines.error_body());
  if (!ok || !saw_done) {
    // Non-streaming replies arrive as one object without a trailing newline.
    if (ok && !lines.rest().empty()) {
      auto j = api::parse_json(lines.rest(), "runner reply");
      if (j.ok()) {
        auto chunk = rp::completion_chunk_from_json(*j);
        if (chunk.ok() && chunk->done) {
          on_chunk(*chunk);
          return {};
        }
      }
    }
    return unavailable("the model runner stopped in the middle of the request" +
                       std::string(ok ? "" : " (" + httplib::to_string(err) + ")"));
  }
  return {};
}

}  // namespace r1::daemon
