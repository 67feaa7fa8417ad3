#include "ollama_auth.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <map>
#include <vector>

#include "base64.h"
#include "r1/registry/digest.h"

namespace r1::registry::detail {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

bool uses_ollama_auth(const client_options& o, const std::string& host) {
  const std::string h = lower(host);
  if (h == "registry.ollama.ai" || h == "ollama.com") return true;
  for (const auto& extra : o.ollama_auth_hosts)
    if (lower(extra) == h) return true;
  return false;
}

std::string query_escape(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string new_nonce() {
  std::array<unsigned char, 16> raw{};
  (void)RAND_bytes(raw.data(), static_cast<int>(raw.size()));
  std::string b = base64(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
  while (!b.empty() && b.back() == '=') b.pop_back();
  for (char& c : b) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return b;
}

result<signed_token_request> sign_token_request(const identity_key& key, const std::string& realm,
                                                const std::string& service, const std::string& scopes,
                                                int64_t unix_time, const std::string& nonce) {
  if (realm.empty() || realm.find("://") == std::string::npos) return invalid_argument("token realm is not a URL");
  const size_t q = realm.find('?');
  std::string base = realm.substr(0, q);
  // Keys sorted, values in insertion order: Go's url.Values.Encode().
  std::map<std::string, std::vector<std::string>> values;
  if (q != std::string::npos) {  // the realm's own query stays (already escaped)
    std::string_view rest = std::string_view(realm).substr(q + 1);
    while (!rest.empty()) {
      const size_t amp = rest.find('&');
      std::string_view pair = rest.substr(0, amp);
      const size_t eq = pair.find('=');
      if (!pair.empty()) values[std::string(pair.substr(0, eq))].push_back(eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1)));
      if (amp == std::string_view::npos) break;
      rest.remove_prefix(amp + 1);
    }
  }
  values["service"].push_back(query_escape(service));
  for (size_t p = 0; p <= scopes.size();) {
    size_t e = scopes.find(' ', p);
    if (e == std::string::npos) e = scopes.size();
    values["scope"].push_back(query_escape(scopes.substr(p, e - p)));
    p = e + 1;
  }
  values["ts"].push_back(std::to_string(unix_time));
  values["nonce"].push_back(query_escape(nonce));
  std::string query;
  for (const auto& [k, vs] : values)
    for (const auto& v : vs) query += (query.empty() ? "" : "&") + k + "=" + v;
  signed_token_request out;
  out.url = base + "?" + query;
  // The body hash is of an empty body: hex digest, then base64 of that text.
  out.signed_text = "GET," + out.url + "," + base64(sha256_of("").substr(7));
  R1_ASSIGN_OR_RETURN(std::string sig, key.sign(out.signed_text));
  out.authorization = key.public_key_base64() + ":" + base64(sig);
  return out;
}

}  // namespace r1::registry::detail
