// Ollama's signed-key registry auth (private to r1::registry).
//
// On a Bearer challenge from an Ollama registry the client does not ask the
// realm anonymously: it builds
//   <realm>?nonce=<16 random bytes, base64url>&scope=<s>&service=<svc>&ts=<unix s>
// (query keys sorted and escaped like Go's url.Values.Encode, as Ollama does),
// signs "GET,<that URL>,<base64 of the hex sha256 of an empty body>" with the
// ed25519 identity key, and sends "Authorization: <public key blob base64>:<signature base64>".
// The answer {"token": "..."} is then used as a Bearer token.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "r1/base/status.h"
#include "r1/registry/identity_key.h"
#include "r1/registry/registry_client.h"

namespace r1::registry::detail {

// True when `host` (as in the model name) speaks Ollama's scheme:
// registry.ollama.ai, ollama.com, or one of options.ollama_auth_hosts.
bool uses_ollama_auth(const client_options& options, const std::string& host);

// Query escaping of Go's url.QueryEscape (space as '+', all but [A-Za-z0-9-_.~] as %XX).
std::string query_escape(std::string_view s);
// 16 random bytes, base64url without padding.
std::string new_nonce();

struct signed_token_request {
  std::string url;            // realm with the sorted query
  std::string signed_text;    // what was signed
  std::string authorization;  // the header value (without "Authorization: ")
};
// `scopes` is space-separated. invalid_argument for a realm that is not an URL.
result<signed_token_request> sign_token_request(const identity_key& key, const std::string& realm,
                                                const std::string& service, const std::string& scopes,
                                                int64_t unix_time, const std::string& nonce);

}  // namespace r1::registry::detail
