// Request admission checks of the daemon's HTTP layer: the Host header (DNS
// rebinding), the Origin header (CORS allow-list) and API keys with an admin
// scope. Pure functions over the request's header values; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "r1/daemon/daemon_config.h"

namespace r1::daemon {

// Host header check, applied when the daemon listens on a loopback address:
// localhost, *.localhost, *.local, *.internal, loopback / private / unspecified
// IPs, and the machine's own host name pass (with any port); anything else is
// refused. An empty Host (HTTP/1.0) passes.
bool host_allowed(std::string_view host_header, std::string_view machine_hostname);

// CORS: http(s)://localhost, 127.0.0.1, [::1], 0.0.0.0 (any port), app://, file://,
// tauri://, vscode-webview://, vscode-file://, plus `extra` patterns ("*" wildcards).
bool origin_allowed(std::string_view origin, const std::vector<std::string>& extra);

enum class access { none, inference, admin };

// The scope a request's credentials grant ("Authorization: Bearer <key>" or
// "x-api-key: <key>"), compared in constant time against the hashed keys. With
// authentication off everything is admin.
access access_of(const daemon_settings& s, std::string_view authorization, std::string_view x_api_key);

// True when `candidate_hash` equals one of `hashes`; every entry is compared in
// constant time (CRYPTO_memcmp) and all are visited, so timing reveals nothing.
bool key_hash_listed(const std::vector<std::string>& hashes, const std::string& candidate_hash);

// True for routes that change the model store or what is loaded, and the key
// store: pull, push, create, copy, delete, blob uploads, /api/keys.
bool needs_admin(std::string_view method, std::string_view path);

// True for addresses on the loopback interface (127.0.0.0/8, ::1, localhost).
bool is_loopback_address(std::string_view host);

}  // namespace r1::daemon
