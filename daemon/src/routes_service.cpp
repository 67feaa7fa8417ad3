// Routes for running r1d as a service: GET /metrics (Prometheus text format)
// and the API key store, /api/keys (admin scope; see docs/security.md).
#include <chrono>

#include "context.h"
#include "r1/base/log.h"

namespace r1::daemon {

namespace {

int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

json key_json(const api_key_record& r, int64_t now) {
  auto when = [](int64_t t) -> json { return t ? json(api::rfc3339_utc(t * 1000000000)) : json(nullptr); };
  std::string state = r.revoked_unix ? "revoked" : (r.expires_unix && r.expires_unix <= now) ? "expired" : "active";
  return {{"id", r.id},
          {"name", r.name},
          {"scope", scope_name(r.scope)},
          {"created_at", when(r.created_unix)},
          {"expires_at", when(r.expires_unix)},
          {"revoked_at", when(r.revoked_unix)},
          {"rate_limit", r.rate_limit},
          {"status", state}};
}

struct create_key_request {
  key_scope scope = key_scope::inference;
  std::string name;
  int64_t expires_unix = 0;
  int rate_limit = 0;
};

// {"scope": "inference"|"admin", "name": "...", "expires_in": "30d", "rate_limit": 60}
result<create_key_request> parse_create_key(const json& body, int64_t now) {
  if (!body.is_object()) return invalid_argument("request body must be a JSON object");
  create_key_request q;
  if (auto it = body.find("scope"); it != body.end()) {
    if (!it->is_string()) return invalid_argument("scope must be a string");
    R1_ASSIGN_OR_RETURN(q.scope, parse_scope(it->get<std::string>()));
  }
  if (auto it = body.find("name"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) return invalid_argument("name must be a string");
    q.name = it->get<std::string>();
  }
  if (auto it = body.find("expires_in"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) return invalid_argument("expires_in must be a duration string such as \"30d\"");
    auto ms = parse_duration_ms(it->get<std::string>());
    if (!ms.ok() || *ms <= 0) return invalid_argument("expires_in must be a positive duration such as \"30d\" or \"12h\"");
    int64_t secs = (*ms + 999) / 1000;
    if (secs > (int64_t{1} << 36)) return invalid_argument("expires_in is too far away");
    q.expires_unix = now + secs;
  }
  if (auto it = body.find("rate_limit"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 1000000)
      return invalid_argument("rate_limit must be an integer from 0 to 1000000 (requests per minute)");
    q.rate_limit = static_cast<int>(it->get<int64_t>());
  }
  return q;
}

}  // namespace

void add_service_routes(httplib::Server& srv, daemon_context& ctx) {
  srv.Get("/metrics", [&ctx](const httplib::Request&, httplib::Response& res) {
    res.set_content(ctx.metrics->registry.expose(), "text/plain; version=0.0.4; charset=utf-8");
  });
  srv.Get("/api/keys", [&ctx](const httplib::Request&, httplib::Response& res) {
    int64_t now = now_unix();
    json keys = json::array();
    for (const auto& r : ctx.keys->list()) keys.push_back(key_json(r, now));
    reply_json(res, json{{"keys", keys}});
  });
  post_json(srv, "/api/keys", ctx, false, [&ctx](const httplib::Request&, httplib::Response& res, const json& body) {
    int64_t now = now_unix();
    auto q = parse_create_key(body, now);
    if (!q.ok()) return reply_error(res, q.error());
    auto c = ctx.keys->create(q->scope, q->name, q->expires_unix, q->rate_limit, now);
    if (!c.ok()) return reply_error(res, c.error());
    R1_LOG(info, "keys") << "created " << scope_name(q->scope) << " key " << c->record.id
                         << (q->name.empty() ? "" : " (" + q->name + ")");
    json j = key_json(c->record, now);
    j["key"] = c->key;
    reply_json(res, j);
  });
  srv.Delete(R"(/api/keys/([^/]+))", [&ctx](const httplib::Request& req, httplib::Response& res) {
    std::string id = req.matches[1];
    status st = ctx.keys->revoke(id, now_unix());
    if (!st.ok()) return reply_error(res, st);
    R1_LOG(info, "keys") << "revoked key " << id;
    reply_json(res, json{{"id", id}, {"status", "revoked"}});
  });
}

}  // namespace r1::daemon
