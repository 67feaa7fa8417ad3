#include "r1/api/json_util.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace r1::api {

namespace {
// Counts the deepest nesting of [ and { outside strings, without building anything.
size_t nesting_depth(std::string_view text) {
  size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') deepest = std::max(deepest, ++depth);
    else if ((c == ']' || c == '}') && depth > 0) --depth;
  }
  return deepest;
}
}  // namespace

result<json> parse_json(std::string_view text, std::string_view what, size_t max_depth) {
  if (nesting_depth(text) > max_depth)
    return invalid_argument(std::string(what) + ": JSON nested deeper than " + std::to_string(max_depth));
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) return j;
  // The non-throwing parse does not say where it failed; ask the throwing one inside a guard.
  try {
    json unused = json::parse(text);
  } catch (const json::exception& e) {
    return invalid_argument(std::string(what) + ": invalid JSON: " + e.what());
  }
  return invalid_argument(std::string(what) + ": invalid JSON");
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string rfc3339_utc(int64_t unix_ns) {
  time_t secs = static_cast<time_t>(unix_ns / 1000000000);
  long frac = static_cast<long>(unix_ns % 1000000000);
  if (frac < 0) {
    frac += 1000000000;
    --secs;
  }
  struct tm tm_utc {};
  gmtime_r(&secs, &tm_utc);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm_utc.tm_year + 1900,
                tm_utc.tm_mon + 1, tm_utc.tm_mday, tm_utc.tm_hour, tm_utc.tm_min, tm_utc.tm_sec, frac);
  return buf;
}

int64_t now_unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace r1::api
