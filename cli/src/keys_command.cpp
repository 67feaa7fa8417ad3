// r1 keys create | list | revoke: the daemon's API key store through /api/keys.
#include <ctime>

#include "commands.h"
#include "format.h"

namespace r1::cli {

using json = nlohmann::json;

status cmd_keys_create(session& s, const key_create_options& o) {
  json body{{"scope", o.scope}};
  if (!o.name.empty()) body["name"] = o.name;
  if (!o.expires.empty()) body["expires_in"] = o.expires;
  if (o.rate_limit > 0) body["rate_limit"] = o.rate_limit;
  R1_ASSIGN_OR_RETURN(json k, s.client->post("/api/keys", body));
  std::string key = k.value("key", "");
  if (key.empty()) return internal_error("the daemon did not return a key");
  std::fprintf(s.out, "%s\n", key.c_str());
  std::string expires = k["expires_at"].is_string() ? k["expires_at"].get<std::string>() : "never";
  std::fprintf(s.err, "created %s key %s (expires: %s). Store it now: it is not shown again.\n", o.scope.c_str(),
               k.value("id", "").c_str(), expires.c_str());
  return {};
}

status cmd_keys_list(session& s) {
  R1_ASSIGN_OR_RETURN(json all, s.client->get("/api/keys"));
  std::vector<std::vector<std::string>> rows{{"ID", "NAME", "SCOPE", "STATUS", "CREATED", "EXPIRES", "RATE LIMIT"}};
  int64_t now = std::time(nullptr);
  for (const auto& k : all.value("keys", json::array())) {
    std::string expires = "never";
    if (k.contains("expires_at") && k["expires_at"].is_string()) {
      int64_t left = parse_rfc3339(k["expires_at"].get<std::string>()) - now;
      expires = left > 0 ? human_until(left) : "expired";
    }
    std::string created = k.contains("created_at") && k["created_at"].is_string()
                              ? human_ago(now - parse_rfc3339(k["created_at"].get<std::string>()))
                              : "";
    int rl = k.value("rate_limit", 0);
    rows.push_back({k.value("id", ""), k.value("name", ""), k.value("scope", ""), k.value("status", ""), created,
                    expires, rl > 0 ? std::to_string(rl) + "/min" : "default"});
  }
  std::fputs(table(rows).c_str(), s.out);
  return {};
}

status cmd_keys_revoke(session& s, const std::string& id) {
  R1_ASSIGN_OR_RETURN(json r, s.client->del("/api/keys/" + id, json::object()));
  std::fprintf(s.out, "revoked %s\n", r.value("id", id).c_str());
  return {};
}

}  // namespace r1::cli
