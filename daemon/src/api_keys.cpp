#include "api_keys.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>

#include "r1/base/raii.h"
#include "request_context.h"

namespace r1::daemon {

using json = nlohmann::json;

namespace {

constexpr size_t k_id_hex = 16;
constexpr size_t k_secret_hex = 64;
constexpr size_t k_max_keys = 100000;
constexpr size_t k_max_name = 128;

bool is_lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

status field_error(size_t index, const std::string& field, const std::string& why) {
  return corrupt("key file: keys[" + std::to_string(index) + "]." + field + ": " + why);
}

result<int64_t> int_field(const json& e, size_t i, const char* name, int64_t lo, int64_t hi) {
  auto it = e.find(name);
  if (it == e.end()) return int64_t{0};
  if (!it->is_number_integer()) return field_error(i, name, "must be an integer");
  bool too_big = it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(hi);
  int64_t v = too_big ? hi : it->get<int64_t>();
  if (too_big || v < lo || v > hi) return field_error(i, name, "out of range");
  return v;
}

result<api_key_record> record_from_json(const json& e, size_t i) {
  if (!e.is_object()) return field_error(i, "", "must be an object");
  api_key_record r;
  auto str = [&](const char* name, std::string* out, bool required) -> status {
    auto it = e.find(name);
    if (it == e.end()) return required ? field_error(i, name, "missing") : status{};
    if (!it->is_string()) return field_error(i, name, "must be a string");
    *out = it->get<std::string>();
    return {};
  };
  std::string scope;
  R1_RETURN_IF_ERROR(str("id", &r.id, true));
  R1_RETURN_IF_ERROR(str("name", &r.name, false));
  R1_RETURN_IF_ERROR(str("scope", &scope, true));
  R1_RETURN_IF_ERROR(str("hash", &r.hash, true));
  if (r.id.size() != k_id_hex || !is_lower_hex(r.id)) return field_error(i, "id", "must be 16 lowercase hex digits");
  if (r.name.size() > k_max_name) return field_error(i, "name", "longer than 128 bytes");
  if (r.hash.size() != 64 || !is_lower_hex(r.hash)) return field_error(i, "hash", "must be 64 lowercase hex digits");
  auto sc = parse_scope(scope);
  if (!sc.ok()) return field_error(i, "scope", "must be inference or admin");
  r.scope = *sc;
  constexpr int64_t k_max_time = int64_t{1} << 40;
  R1_ASSIGN_OR_RETURN(r.created_unix, int_field(e, i, "created_at", 0, k_max_time));
  R1_ASSIGN_OR_RETURN(r.expires_unix, int_field(e, i, "expires_at", 0, k_max_time));
  R1_ASSIGN_OR_RETURN(r.revoked_unix, int_field(e, i, "revoked_at", 0, k_max_time));
  R1_ASSIGN_OR_RETURN(int64_t rl, int_field(e, i, "rate_limit", 0, 1000000));
  r.rate_limit = static_cast<int>(rl);
  return r;
}

}  // namespace

const char* scope_name(key_scope s) { return s == key_scope::admin ? "admin" : "inference"; }

result<key_scope> parse_scope(std::string_view text) {
  if (text == "inference") return key_scope::inference;
  if (text == "admin") return key_scope::admin;
  return invalid_argument("scope '" + std::string(text) + "' must be inference or admin");
}

result<std::vector<api_key_record>> parse_key_file(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return corrupt("key file: not valid JSON");
  if (!j.is_object()) return corrupt("key file: top level must be an object");
  auto v = j.find("version");
  if (v == j.end() || !v->is_number_integer() || v->get<int64_t>() != 1) return corrupt("key file: version must be 1");
  auto keys = j.find("keys");
  if (keys == j.end() || !keys->is_array()) return corrupt("key file: 'keys' must be an array");
  if (keys->size() > k_max_keys) return corrupt("key file: more than 100000 keys");
  std::vector<api_key_record> out;
  for (size_t i = 0; i < keys->size(); ++i) {
    R1_ASSIGN_OR_RETURN(api_key_record r, record_from_json((*keys)[i], i));
    for (const auto& o : out)
      if (o.id == r.id) return field_error(i, "id", "duplicate id " + r.id);
    out.push_back(std::move(r));
  }
  return out;
}

std::string serialize_key_file(const std::vector<api_key_record>& keys) {
  json arr = json::array();
  for (const auto& k : keys) {
    arr.push_back({{"id", k.id},
                   {"name", k.name},
                   {"scope", scope_name(k.scope)},
                   {"hash", k.hash},
                   {"created_at", k.created_unix},
                   {"expires_at", k.expires_unix},
                   {"revoked_at", k.revoked_unix},
                   {"rate_limit", k.rate_limit}});
  }
  return json{{"version", 1}, {"keys", arr}}.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string key_id_of(std::string_view presented) {
  if (presented.size() != 3 + k_id_hex + 1 + k_secret_hex || presented.substr(0, 3) != "r1_" ||
      presented[3 + k_id_hex] != '_')
    return "";
  std::string_view id = presented.substr(3, k_id_hex);
  if (!is_lower_hex(id) || !is_lower_hex(presented.substr(4 + k_id_hex))) return "";
  return std::string(id);
}

result<std::unique_ptr<api_key_store>> api_key_store::open(std::string path) {
  std::unique_ptr<api_key_store> s(new api_key_store(path));
  if (::access(path.c_str(), F_OK) != 0) return s;
  auto text = read_file(path, size_t{64} << 20);
  if (!text.ok()) return text.error().with_context("API key file " + path);
  auto keys = parse_key_file(*text);
  if (!keys.ok()) return keys.error().with_context(path);
  s->keys_ = std::move(*keys);
  return s;
}

status api_key_store::save(const std::vector<api_key_record>& keys) const {
  return write_file_atomic(path_, serialize_key_file(keys), 0600);
}

result<api_key_store::created> api_key_store::create(key_scope scope, std::string name, int64_t expires_unix,
                                                     int rate_limit, int64_t now) {
  if (name.size() > k_max_name) return invalid_argument("key name is longer than 128 bytes");
  if (rate_limit < 0 || rate_limit > 1000000) return invalid_argument("rate_limit must be from 0 to 1000000 per minute");
  if (expires_unix != 0 && expires_unix <= now) return invalid_argument("the expiry is in the past");
  created c;
  c.record.scope = scope;
  c.record.name = std::move(name);
  c.record.created_unix = now;
  c.record.expires_unix = expires_unix;
  c.record.rate_limit = rate_limit;
  std::lock_guard<std::mutex> lk(mu_);
  do {
    R1_ASSIGN_OR_RETURN(c.record.id, random_hex(k_id_hex / 2));
  } while (std::any_of(keys_.begin(), keys_.end(), [&](const api_key_record& r) { return r.id == c.record.id; }));
  R1_ASSIGN_OR_RETURN(std::string secret, random_hex(k_secret_hex / 2));
  c.key = "r1_" + c.record.id + "_" + secret;
  c.record.hash = hash_key(c.key);
  auto next = keys_;
  next.push_back(c.record);
  R1_RETURN_IF_ERROR(save(next).with_context("saving API keys to " + path_));
  keys_ = std::move(next);
  return c;
}

status api_key_store::revoke(const std::string& id, int64_t now) {
  std::lock_guard<std::mutex> lk(mu_);
  auto next = keys_;
  auto it = std::find_if(next.begin(), next.end(), [&](const api_key_record& r) { return r.id == id; });
  if (it == next.end()) return not_found("no API key with id '" + id + "'");
  if (it->revoked_unix == 0) it->revoked_unix = now;
  R1_RETURN_IF_ERROR(save(next).with_context("saving API keys to " + path_));
  keys_ = std::move(next);
  return {};
}

std::vector<api_key_record> api_key_store::list() const {
  std::lock_guard<std::mutex> lk(mu_);
  return keys_;
}

bool api_key_store::has_active_keys(int64_t now) const {
  std::lock_guard<std::mutex> lk(mu_);
  return std::any_of(keys_.begin(), keys_.end(), [&](const api_key_record& r) {
    return r.revoked_unix == 0 && (r.expires_unix == 0 || r.expires_unix > now);
  });
}

api_key_store::check api_key_store::verify(std::string_view presented, int64_t now) const {
  check c;
  std::string id = key_id_of(presented);
  if (id.empty()) return c;
  std::string h = hash_key(std::string(presented));
  std::lock_guard<std::mutex> lk(mu_);
  for (const auto& r : keys_) {
    if (r.id != id) continue;
    if (r.hash.size() != h.size() || CRYPTO_memcmp(r.hash.data(), h.data(), h.size()) != 0) return c;
    c.record = r;
    if (r.revoked_unix != 0) c.v = verdict::revoked;
    else if (r.expires_unix != 0 && r.expires_unix <= now) c.v = verdict::expired;
    else c.v = verdict::valid;
    return c;
  }
  return c;
}

namespace {

std::string presented_key(std::string_view authorization, std::string_view x_api_key) {
  if (authorization.size() > 7) {
    std::string prefix(authorization.substr(0, 7));
    std::transform(prefix.begin(), prefix.end(), prefix.begin(), [](unsigned char c) { return std::tolower(c); });
    if (prefix == "bearer ") return std::string(authorization.substr(7));
  }
  return std::string(x_api_key);
}

}  // namespace

auth_decision authenticate(const daemon_settings& s, const api_key_store* store, std::string_view authorization,
                           std::string_view x_api_key, bool trusted_local, int64_t now) {
  auth_decision d;
  if (trusted_local) {
    d.level = access::admin;
    return d;
  }
  bool enabled = s.require_keys || s.auth_enabled() || (store && store->has_active_keys(now));
  if (!enabled) {
    d.level = access::admin;
    return d;
  }
  std::string key = presented_key(authorization, x_api_key);
  if (key.empty()) {
    d.reason = "missing";
    return d;
  }
  std::string h = hash_key(key);
  if (key_hash_listed(s.admin_key_hashes, h) || key_hash_listed(s.api_key_hashes, h)) {
    d.level = key_hash_listed(s.admin_key_hashes, h) ? access::admin : access::inference;
    d.key_id = "config:" + h.substr(0, 8);
    return d;
  }
  if (store) {
    auto c = store->verify(key, now);
    switch (c.v) {
      case api_key_store::verdict::valid:
        d.level = c.record.scope == key_scope::admin ? access::admin : access::inference;
        d.key_id = c.record.id;
        d.rate_limit = c.record.rate_limit;
        return d;
      case api_key_store::verdict::expired: d.reason = "expired"; return d;
      case api_key_store::verdict::revoked: d.reason = "revoked"; return d;
      case api_key_store::verdict::unknown: break;
    }
  }
  d.reason = "invalid";
  return d;
}

}  // namespace r1::daemon
