#include "session.h"


#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>

#include "base64.h"
#include "ollama_auth.h"

#include "r1/base/log.h"
#include "r1/registry/auth_challenge.h"

namespace r1::registry::detail {

namespace {

std::string host_only(const std::string& authority) {
  if (!authority.empty() && authority[0] == '[') return authority.substr(0, authority.find(']') + 1);
  return authority.substr(0, authority.rfind(':'));
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

const registry_credentials* credentials_for(const client_options& o, const std::string& host) {
  auto it = o.credentials.find(host);
  if (it == o.credentials.end()) it = o.credentials.find(lower(host));
  return it == o.credentials.end() ? nullptr : &it->second;
}

}  // namespace

std::string token_cache::get(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tokens_.find(key);
  if (it == tokens_.end()) return {};
  if (std::chrono::steady_clock::now() >= it->second.second) {
    tokens_.erase(it);
    return {};
  }
  return it->second.first;
}

void token_cache::put(const std::string& key, std::string token, int64_t expires_in_s) {
  std::lock_guard<std::mutex> lock(mu_);
  // Refresh a little early so a token does not expire mid-request.
  int64_t life = std::max<int64_t>(1, expires_in_s - std::min<int64_t>(10, expires_in_s / 4));
  tokens_[key] = {std::move(token), std::chrono::steady_clock::now() + std::chrono::seconds(life)};
}

void token_cache::drop(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  tokens_.erase(key);
}

bool insecure_allowed(const client_options& o, const std::string& authority) {
  if (is_loopback_host(authority)) return true;
  const std::string a = lower(authority);
  for (const auto& h : o.insecure_registries)
    if (lower(h) == a || lower(h) == host_only(a)) return true;
  return false;
}

result<std::string> registry_base_url(const client_options& o, const model_name& name) {
  auto ov = o.host_overrides.find(name.host);
  if (ov == o.host_overrides.end()) ov = o.host_overrides.find(lower(name.host));
  if (ov != o.host_overrides.end()) {
    url_parts u;
    if (!parse_url(ov->second, &u)) return invalid_argument("registry override for " + name.host + " is not an http(s) URL");
    if (u.scheme == "http" && !insecure_allowed(o, u.authority))
      return permission_denied("registry override " + u.authority + " uses http but is not marked insecure");
    std::string base = ov->second;
    while (!base.empty() && base.back() == '/') base.pop_back();
    return base;
  }
  const std::string host = lower(name.host);
  if (name.scheme == "http" || (name.scheme.empty() && insecure_allowed(o, host))) {
    if (!insecure_allowed(o, host))
      return permission_denied("registry " + host + ": plain http is allowed only for loopback hosts and registries "
                               "marked insecure in the configuration");
    return "http://" + host;
  }
  return "https://" + host;
}

registry_session::registry_session(const client_options& options, std::string host, std::string base_url,
                                   token_cache& tokens, rate_limiter* limiter, const std::atomic<bool>* cancel)
    : options_(options), host_(std::move(host)), base_url_(std::move(base_url)), tokens_(tokens),
      limiter_(limiter), cancel_(cancel) {
  url_parts u;
  if (parse_url(base_url_, &u)) authority_ = u.authority;
}

std::string registry_session::auth_header(const std::string& authority, const std::string& scope) {
  if (authority != authority_) return {};  // credentials only for the registry itself
  std::string token = tokens_.get(authority_ + " " + scope);
  if (!token.empty()) return "Authorization: Bearer " + token;
  const registry_credentials* cred = credentials_for(options_, host_);
  if (!cred) return {};
  if (!cred->token.empty()) return "Authorization: Bearer " + cred->token;
  std::lock_guard<std::mutex> lock(mu_);
  if (use_basic_ && !cred->username.empty()) return "Authorization: Basic " + base64(cred->username + ":" + cred->password);
  return {};
}

status registry_session::authenticate(const http_response& resp, const std::string& scope) {
  std::string header = resp.header("www-authenticate");
  if (header.empty()) return permission_denied("registry " + host_ + " answered 401 without a challenge");
  R1_ASSIGN_OR_RETURN(auth_challenge ch, auth_challenge::parse(header));
  const registry_credentials* cred = credentials_for(options_, host_);
  if (ch.scheme == "basic") {
    if (!cred || cred->username.empty())
      return permission_denied("registry " + host_ + " requires credentials (none configured)");
    std::lock_guard<std::mutex> lock(mu_);
    if (use_basic_) return permission_denied("registry " + host_ + " refused the configured credentials");
    use_basic_ = true;
    return {};
  }
  if (ch.scheme != "bearer") return permission_denied("registry " + host_ + ": unsupported auth scheme '" + ch.scheme + "'");
  url_parts realm;
  if (!parse_url(ch.param("realm"), &realm)) return corrupt("registry " + host_ + ": token realm is not an http(s) URL");
  if (realm.scheme == "http" && !insecure_allowed(options_, realm.authority))
    return permission_denied("registry " + host_ + ": token realm " + realm.authority + " is plain http");
  if (uses_ollama_auth(options_, host_) && (!cred || cred->username.empty())) return authenticate_ollama(ch, scope);
  const std::string realm_host = host_only(realm.authority);
  bool realm_trusted = realm.authority == authority_ || realm_host == host_only(authority_);
  for (const auto& h : options_.allowed_realm_hosts)
    if (lower(h) == realm_host || lower(h) == realm.authority) realm_trusted = true;
  std::string url = ch.param("realm");
  url += url.find('?') == std::string::npos ? "?" : "&";
  url += "service=" + url_escape(ch.param("service"));
  // The scope we need, plus any the registry named (they usually agree).
  std::string scopes = scope;
  if (!ch.param("scope").empty() && ch.param("scope") != scope) scopes += " " + ch.param("scope");
  for (size_t p = 0; p <= scopes.size();) {
    size_t e = scopes.find(' ', p);
    if (e == std::string::npos) e = scopes.size();
    if (e > p) url += "&scope=" + url_escape(scopes.substr(p, e - p));
    p = e + 1;
  }
  http_request tr = token_request(url);
  if (cred && !cred->username.empty()) {
    if (realm_trusted) tr.headers.push_back("Authorization: Basic " + base64(cred->username + ":" + cred->password));
    else R1_LOG(warn, "registry") << "not sending credentials for " << host_ << " to untrusted token realm " << realm_host;
  }
  return accept_token(http_perform(tr), scope);
}

http_request registry_session::token_request(std::string url) const {
  http_request tr;
  tr.url = std::move(url);
  tr.max_body = size_t{1} << 20;
  tr.headers.push_back("User-Agent: " + options_.user_agent);
  tr.connect_timeout_ms = options_.connect_timeout_ms;
  tr.stall_timeout_ms = options_.stall_timeout_ms;
  tr.ca_file = options_.ca_file;
  tr.cancel = cancel_;
  return tr;
}

status registry_session::authenticate_ollama(const auth_challenge& ch, const std::string& scope) {
  url_parts realm;
  if (!parse_url(ch.param("realm"), &realm)) return corrupt("registry " + host_ + ": token realm is not an http(s) URL");
  // The signed request proves who we are: it goes only to the registry itself.
  if (lower(realm.authority) != lower(authority_))
    return permission_denied("registry " + host_ + ": token realm host " + realm.authority +
                             " does not match the registry host " + authority_ + "; not sending a signed request");
  if (options_.identity_key_paths.empty())
    return permission_denied("registry " + host_ + " asks for Ollama key auth, but no identity key is configured");
  auto key = identity_key::load_or_create(options_.identity_key_paths);
  if (!key.ok()) return key.error().with_context("registry " + host_ + " key auth");
  const std::string scopes = ch.param("scope").empty() ? scope : ch.param("scope");
  auto req = sign_token_request(*key, ch.param("realm"), ch.param("service"), scopes,
                                static_cast<int64_t>(std::time(nullptr)), new_nonce());
  if (!req.ok()) return req.error().with_context("registry " + host_);
  http_request tr = token_request(req->url);
  tr.headers.push_back("Authorization: " + req->authorization);
  http_response t = http_perform(tr);
  if (t.status == 401 || t.status == 403) {
    const std::string msg = registry_error_message(t.body);
    return permission_denied("registry " + host_ + " refused the signed token request (HTTP " + std::to_string(t.status) +
                             (msg.empty() ? "" : ": " + msg) + "); register this public key at ollama.com: " +
                             key->public_key_line());
  }
  return accept_token(t, scope);
}

status registry_session::accept_token(const http_response& t, const std::string& scope) {
  if (!t.transport.ok()) return t.transport.with_context("token request");
  if (t.status == 401 || t.status == 403) return permission_denied("token service for " + host_ + " refused: HTTP " + std::to_string(t.status));
  if (t.status != 200) return unavailable("token service for " + host_ + " answered HTTP " + std::to_string(t.status));
  auto j = nlohmann::json::parse(t.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return corrupt("token service for " + host_ + ": answer is not a JSON object");
  std::string token;
  for (const char* key : {"token", "access_token"}) {
    auto it = j.find(key);
    if (it != j.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
      token = it->get<std::string>();
      break;
    }
  }
  if (token.empty() || token.size() > 65536) return corrupt("token service for " + host_ + ": no usable token in the answer");
  for (char c : token)
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) return corrupt("token service for " + host_ + ": token has invalid characters");
  int64_t expires = 60;
  if (auto it = j.find("expires_in"); it != j.end() && it->is_number_integer()) expires = std::clamp<int64_t>(it->get<int64_t>(), 1, 86400);
  tokens_.put(authority_ + " " + scope, std::move(token), expires);
  return {};
}

http_response registry_session::send(http_request req, const std::string& scope) {
  req.connect_timeout_ms = options_.connect_timeout_ms;
  req.stall_timeout_ms = options_.stall_timeout_ms;
  req.ca_file = options_.ca_file;
  req.cancel = cancel_;
  if (!req.limiter) req.limiter = limiter_;
  const std::vector<std::string> base_headers = [&] {
    auto h = req.headers;
    h.push_back("User-Agent: " + options_.user_agent);
    return h;
  }();
  bool authenticated_once = false;
  std::string url = req.url;
  for (int hop = 0; hop <= 10; ++hop) {
    url_parts u;
    if (!parse_url(url, &u)) {
      http_response r;
      r.transport = corrupt("registry " + host_ + ": bad URL '" + url.substr(0, 200) + "'");
      return r;
    }
    req.url = url;
    req.headers = base_headers;
    std::string auth = auth_header(u.authority, scope);
    if (!auth.empty()) req.headers.push_back(auth);
    http_response resp = http_perform(req);
    if (!resp.transport.ok()) return resp;
    if (resp.status == 401 && u.authority == authority_ && !authenticated_once) {
      authenticated_once = true;
      tokens_.drop(authority_ + " " + scope);
      status s = authenticate(resp, scope);
      if (!s.ok()) {
        resp.transport = s;
        return resp;
      }
      --hop;
      continue;
    }
    const bool redirect = resp.status == 301 || resp.status == 302 || resp.status == 303 || resp.status == 307 || resp.status == 308;
    if (!redirect || (req.method != "GET" && req.method != "HEAD")) return resp;
    std::string location = resp.header("location");
    if (location.empty()) return resp;
    std::string next = resolve_url(url, location);
    url_parts n;
    if (!parse_url(next, &n)) {
      resp.transport = corrupt("registry " + host_ + ": redirect to a non-http(s) URL");
      return resp;
    }
    if (u.scheme == "https" && n.scheme == "http" && !insecure_allowed(options_, n.authority)) {
      resp.transport = permission_denied("registry " + host_ + ": refusing a redirect from https to http (" + n.authority + ")");
      return resp;
    }
    url = next;
  }
  http_response r;
  r.transport = unavailable("registry " + host_ + ": too many redirects");
  return r;
}

std::string registry_error_message(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return {};
  if (auto e = j.find("error"); e != j.end() && e->is_string()) return e->get<std::string>().substr(0, 500);
  auto errs = j.find("errors");
  if (errs == j.end() || !errs->is_array() || errs->empty() || !(*errs)[0].is_object()) return {};
  const auto& first = (*errs)[0];
  std::string out;
  if (auto c = first.find("code"); c != first.end() && c->is_string()) out = c->get<std::string>();
  if (auto m = first.find("message"); m != first.end() && m->is_string()) out += (out.empty() ? "" : ": ") + m->get<std::string>();
  return out.substr(0, 500);
}

}  // namespace r1::registry::detail
