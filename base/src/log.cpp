#include "r1/base/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>

#include <nlohmann/json.hpp>

namespace r1 {
namespace {
std::atomic<int> g_level{static_cast<int>(log_level::info)};
std::atomic<int> g_format{static_cast<int>(log_format::text)};
thread_local std::string t_request_id;

std::string_view level_name(log_level l) {
  switch (l) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warn: return "warn";
    case log_level::error: return "error";
    case log_level::off: return "off";
  }
  return "?";
}

std::string utc_timestamp() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}
}  // namespace

void set_log_level(log_level level) { g_level = static_cast<int>(level); }
log_level current_log_level() { return static_cast<log_level>(g_level.load()); }
void set_log_format(log_format format) { g_format = static_cast<int>(format); }

bool parse_log_level(std::string_view text, log_level* out) {
  for (auto l : {log_level::debug, log_level::info, log_level::warn, log_level::error, log_level::off}) {
    if (text == level_name(l)) {
      *out = l;
      return true;
    }
  }
  return false;
}

void set_thread_request_id(std::string id) { t_request_id = std::move(id); }
const std::string& thread_request_id() { return t_request_id; }

void log_write(log_level level, std::string_view component, std::string_view message) {
  std::string line;
  if (static_cast<log_format>(g_format.load()) == log_format::json) {
    nlohmann::json j{{"time", utc_timestamp()},
                     {"level", level_name(level)},
                     {"component", component},
                     {"msg", message}};
    if (!t_request_id.empty()) j["request_id"] = t_request_id;
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = utc_timestamp();
    line += ' ';
    line += level_name(level);
    line += ' ';
    line += component;
    if (!t_request_id.empty()) {
      line += " [";
      line += t_request_id;
      line += ']';
    }
    line += ": ";
    line += message;
  }
  line += '\n';
  // One write(2) per line so concurrent lines never interleave.
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace r1
