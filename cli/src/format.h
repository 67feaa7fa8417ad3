// Text helpers for the CLI's tables and progress output.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace r1::cli {

// "4.7 GB", "512 MB", "12 KB", "87 B" (decimal units, as Ollama prints).
std::string human_bytes(uint64_t n);
// "3 seconds ago", "2 minutes ago", "5 days ago".
std::string human_ago(int64_t seconds);
// "4 minutes from now", "Forever", "Stopping...".
std::string human_until(int64_t seconds);
// "2m10s", "45s", "1h02m".
std::string human_duration(double seconds);
// Left-aligned columns separated by at least three spaces.
std::string table(const std::vector<std::vector<std::string>>& rows);
// Seconds since the epoch from an RFC 3339 UTC time ("2026-11-29T13:00:00.123Z"); 0 if malformed.
int64_t parse_rfc3339(const std::string& text);

}  // namespace r1::cli
