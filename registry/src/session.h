// One registry conversation for one repository (private to r1::registry):
// adds the User-Agent and credentials, answers bearer/basic challenges,
// follows redirects itself so Authorization never reaches another host, and
// refuses to downgrade https to http. Thread-safe: send() may be called from
// many threads; the token cache is shared and locked.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "http.h"
#include "r1/registry/auth_challenge.h"
#include "r1/registry/model_name.h"
#include "r1/registry/registry_client.h"

namespace r1::registry::detail {

class token_cache {
 public:
  // "" if none or expired.
  std::string get(const std::string& key);
  void put(const std::string& key, std::string token, int64_t expires_in_s);
  void drop(const std::string& key);

 private:
  std::mutex mu_;
  std::map<std::string, std::pair<std::string, std::chrono::steady_clock::time_point>> tokens_;
};

// The base URL ("https://host", "http://127.0.0.1:5000" or an override) for a
// name, or invalid_argument/permission_denied when plain http is not allowed.
result<std::string> registry_base_url(const client_options& options, const model_name& name);
// True if `authority` ("host[:port]") may be reached over plain http.
bool insecure_allowed(const client_options& options, const std::string& authority);

class registry_session {
 public:
  registry_session(const client_options& options, std::string host, std::string base_url, token_cache& tokens,
                   rate_limiter* limiter, const std::atomic<bool>* cancel);

  const std::string& base_url() const { return base_url_; }
  // Performs `req` (its url absolute). `scope` is the token scope(s) needed,
  // space-separated ("repository:a/b:pull"). Redirects are followed for GET
  // and HEAD (up to 10). The returned response may carry a transport error.
  http_response send(http_request req, const std::string& scope);

 private:
  std::string auth_header(const std::string& authority, const std::string& scope);
  status authenticate(const http_response& challenge, const std::string& scope);
  // Ollama's signed token request (ollama_auth.h) for a Bearer challenge.
  status authenticate_ollama(const auth_challenge& ch, const std::string& scope);
  // Stores the token of a token service's answer under `scope`.
  status accept_token(const http_response& answer, const std::string& scope);
  http_request token_request(std::string url) const;

  const client_options& options_;
  std::string host_;       // the registry host as in the model name
  std::string base_url_;
  std::string authority_;  // of base_url_, lower-case
  token_cache& tokens_;
  rate_limiter* limiter_;
  const std::atomic<bool>* cancel_;
  std::mutex mu_;
  bool use_basic_ = false;  // the registry asked for Basic credentials
};

// Message of a registry error body ({"errors":[{"code","message"}]} or {"error":"..."}), else "".
std::string registry_error_message(const std::string& body);

}  // namespace r1::registry::detail
