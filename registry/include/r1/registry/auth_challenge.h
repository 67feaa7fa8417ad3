// Parsing of WWW-Authenticate challenges (RFC 7235), as registries send them:
//   Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"
// Strict: quoted strings with escapes, commas inside quotes, at most 32
// parameters of at most 2048 bytes each. Value type; thread-compatible.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "r1/base/status.h"

namespace r1::registry {

struct auth_challenge {
  std::string scheme;                         // lower-case: "bearer", "basic"
  std::map<std::string, std::string> params;  // keys lower-case

  // Parses the first challenge of a header value; corrupt names what is wrong.
  static result<auth_challenge> parse(std::string_view header);
  std::string param(const std::string& key) const {
    auto it = params.find(key);
    return it == params.end() ? std::string() : it->second;
  }
};

}  // namespace r1::registry
