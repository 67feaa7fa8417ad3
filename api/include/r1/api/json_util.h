// Non-throwing JSON helpers shared by the daemon, the CLI and the tests.
//
// nlohmann::json throws on malformed input and on invalid UTF-8 while
// dumping; these wrappers never do. Thread-safe (no shared state).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "r1/base/status.h"

namespace r1::api {

using json = nlohmann::json;

// Parses `text`; invalid_argument naming `what` and the parser's complaint on failure.
// Nesting deeper than `max_depth` is refused (protects recursive consumers).
result<json> parse_json(std::string_view text, std::string_view what = "request body",
                        size_t max_depth = 64);

// Compact dump; invalid UTF-8 (a token that ends mid-character) is replaced by U+FFFD.
std::string dump(const json& j);

// RFC 3339 UTC time with nanoseconds ("2026-11-29T13:00:00.123456789Z") for a
// system_clock time point given in nanoseconds since the epoch.
std::string rfc3339_utc(int64_t unix_ns);
int64_t now_unix_ns();

}  // namespace r1::api
