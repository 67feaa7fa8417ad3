#include "r1/registry/auth_challenge.h"

#include <cctype>

namespace r1::registry {

namespace {

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

void skip_ws(std::string_view s, size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
}

std::string lower(std::string_view s) {
  std::string out;
  for (char c : s) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

}  // namespace

result<auth_challenge> auth_challenge::parse(std::string_view h) {
  constexpr size_t max_value = 2048;
  if (h.size() > 16384) return corrupt("WWW-Authenticate: header longer than 16384 bytes");
  auth_challenge c;
  size_t i = 0;
  skip_ws(h, i);
  size_t start = i;
  while (i < h.size() && is_token_char(h[i])) ++i;
  if (i == start) return corrupt("WWW-Authenticate: missing auth scheme");
  c.scheme = lower(h.substr(start, i - start));
  while (true) {
    skip_ws(h, i);
    while (i < h.size() && h[i] == ',') {
      ++i;
      skip_ws(h, i);
    }
    if (i >= h.size()) break;
    size_t ks = i;
    while (i < h.size() && is_token_char(h[i])) ++i;
    if (i == ks) return corrupt("WWW-Authenticate: unexpected character at offset " + std::to_string(i));
    std::string key = lower(h.substr(ks, i - ks));
    skip_ws(h, i);
    if (i >= h.size() || h[i] != '=') {
      // A token68 or the start of a second challenge: stop at the first challenge.
      if (c.params.empty()) break;
      break;
    }
    ++i;
    skip_ws(h, i);
    std::string value;
    if (i < h.size() && h[i] == '"') {
      ++i;
      bool closed = false;
      while (i < h.size()) {
        char ch = h[i++];
        if (ch == '\\') {
          if (i >= h.size()) return corrupt("WWW-Authenticate: dangling escape in '" + key + "'");
          value.push_back(h[i++]);
        } else if (ch == '"') {
          closed = true;
          break;
        } else {
          value.push_back(ch);
        }
        if (value.size() > max_value) return corrupt("WWW-Authenticate: value of '" + key + "' is too long");
      }
      if (!closed) return corrupt("WWW-Authenticate: unterminated quoted value for '" + key + "'");
    } else {
      size_t vs = i;
      while (i < h.size() && is_token_char(h[i])) ++i;
      value = std::string(h.substr(vs, i - vs));
      if (value.size() > max_value) return corrupt("WWW-Authenticate: value of '" + key + "' is too long");
    }
    for (char ch : value)
      if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f)
        return corrupt("WWW-Authenticate: control character in '" + key + "'");
    if (c.params.size() >= 32) return corrupt("WWW-Authenticate: more than 32 parameters");
    if (!c.params.emplace(key, std::move(value)).second)
      return corrupt("WWW-Authenticate: parameter '" + key + "' appears twice");
    skip_ws(h, i);
    if (i < h.size() && h[i] != ',') return corrupt("WWW-Authenticate: expected ',' at offset " + std::to_string(i));
  }
  return c;
}

}  // namespace r1::registry
