#include "r1/daemon/security.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include <openssl/crypto.h>

namespace r1::daemon {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Splits "host:port", "[v6]:port", "v6" into the host part.
std::string host_part(std::string_view hp) {
  if (!hp.empty() && hp[0] == '[') {
    auto close = hp.find(']');
    return std::string(close == std::string_view::npos ? hp.substr(1) : hp.substr(1, close - 1));
  }
  auto first = hp.find(':');
  if (first != std::string_view::npos && hp.find(':', first + 1) == std::string_view::npos)
    return std::string(hp.substr(0, first));
  return std::string(hp);
}

bool ip_is_local_or_private(const std::string& h) {
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) {
    uint32_t a = ntohl(v4.s_addr);
    uint8_t b0 = a >> 24, b1 = (a >> 16) & 0xff;
    return b0 == 127 || b0 == 10 || a == 0 || (b0 == 172 && (b1 & 0xf0) == 16) || (b0 == 192 && b1 == 168) ||
           (b0 == 169 && b1 == 254);
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    static const in6_addr any = IN6ADDR_ANY_INIT;
    if (IN6_IS_ADDR_LOOPBACK(&v6) || IN6_ARE_ADDR_EQUAL(&v6, &any) || IN6_IS_ADDR_LINKLOCAL(&v6)) return true;
    return (v6.s6_addr[0] & 0xfe) == 0xfc;  // unique local fc00::/7
  }
  return false;
}

// Glob with '*' only.
bool glob_match(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace

bool key_hash_listed(const std::vector<std::string>& hashes, const std::string& candidate_hash) {
  bool found = false;
  for (const auto& h : hashes)
    if (h.size() == candidate_hash.size() && CRYPTO_memcmp(h.data(), candidate_hash.data(), h.size()) == 0) found = true;
  return found;
}

bool is_loopback_address(std::string_view host) {
  std::string h = lower(host_part(host));
  if (h == "localhost" || ends_with(h, ".localhost")) return true;
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

bool host_allowed(std::string_view host_header, std::string_view machine_hostname) {
  if (host_header.empty()) return true;
  std::string h = lower(host_part(host_header));
  if (h.empty()) return false;
  if (h == "localhost" || ends_with(h, ".localhost") || ends_with(h, ".local") || ends_with(h, ".internal")) return true;
  if (!machine_hostname.empty() && h == lower(machine_hostname)) return true;
  return ip_is_local_or_private(h);
}

bool origin_allowed(std::string_view origin, const std::vector<std::string>& extra) {
  if (origin.empty()) return true;
  std::string o = lower(origin);
  static const std::vector<std::string> builtin = {
      "http://localhost",  "https://localhost",  "http://localhost:*",  "https://localhost:*",
      "http://127.0.0.1",  "https://127.0.0.1",  "http://127.0.0.1:*",  "https://127.0.0.1:*",
      "http://[::1]",      "https://[::1]",      "http://[::1]:*",      "https://[::1]:*",
      "http://0.0.0.0",    "https://0.0.0.0",    "http://0.0.0.0:*",    "https://0.0.0.0:*",
      "app://*",           "file://*",           "tauri://*",           "vscode-webview://*",
      "vscode-file://*"};
  for (const auto& p : builtin)
    if (glob_match(p, o)) {
      // "http://localhost:*" must not admit "http://localhost:80.evil.com".
      auto colon = o.rfind(':');
      if (p.back() == '*' && p.find(":*") != std::string::npos && colon != std::string::npos) {
        std::string port = o.substr(colon + 1);
        if (port.empty() || !std::all_of(port.begin(), port.end(), ::isdigit)) continue;
      }
      return true;
    }
  for (const auto& p : extra)
    if (glob_match(lower(p), o)) return true;
  return false;
}

access access_of(const daemon_settings& s, std::string_view authorization, std::string_view x_api_key) {
  if (!s.auth_enabled()) return access::admin;
  std::string key;
  std::string auth(authorization);
  if (auth.size() > 7 && lower(auth.substr(0, 7)) == "bearer ") key = auth.substr(7);
  else if (!x_api_key.empty()) key = std::string(x_api_key);
  if (key.empty()) return access::none;
  std::string h = hash_key(key);
  if (key_hash_listed(s.admin_key_hashes, h)) return access::admin;
  if (key_hash_listed(s.api_key_hashes, h)) return access::inference;
  return access::none;
}

bool needs_admin(std::string_view method, std::string_view path) {
  if (path == "/api/pull" || path == "/api/push" || path == "/api/create" || path == "/api/copy" ||
      path == "/api/delete" || path == "/api/export" || path == "/api/import" || path == "/api/keys" ||
      path == "/api/bench" ||
      path.rfind("/api/keys/", 0) == 0)
    return true;
  return path.rfind("/api/blobs/", 0) == 0 && method == "POST";
}

}  // namespace r1::daemon
