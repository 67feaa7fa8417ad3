// A small logging facade: levels, a component tag and an optional request id.
//
//   R1_LOG(info, "registry") << "pulled " << name << " in " << secs << "s";
//
// Lines go to stderr as text ("2026-11-29T13:00:00.123Z info registry: ...") or
// as one JSON object per line when set_log_format(log_format::json) was called.
// Thread-safe: each line is formatted apart and written with one write(2).
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace r1 {

enum class log_level { debug = 0, info = 1, warn = 2, error = 3, off = 4 };
enum class log_format { text, json };

void set_log_level(log_level level);
log_level current_log_level();
void set_log_format(log_format format);
// Parses "debug", "info", "warn", "error", "off"; false if unknown.
bool parse_log_level(std::string_view text, log_level* out);

// The request id of the calling thread, added to every line it logs ("" for none).
void set_thread_request_id(std::string id);
const std::string& thread_request_id();

// Writes one finished line. Usually called through R1_LOG.
void log_write(log_level level, std::string_view component, std::string_view message);

namespace detail {
class log_line {
 public:
  log_line(log_level level, std::string_view component) : level_(level), component_(component) {}
  ~log_line() { log_write(level_, component_, stream_.str()); }
  log_line(const log_line&) = delete;
  log_line& operator=(const log_line&) = delete;
  template <typename T>
  log_line& operator<<(const T& v) {
    stream_ << v;
    return *this;
  }

 private:
  log_level level_;
  std::string_view component_;
  std::ostringstream stream_;
};
}  // namespace detail

}  // namespace r1

#define R1_LOG(level, component)                                           \
  if (::r1::log_level::level < ::r1::current_log_level()) {                \
  } else                                                                   \
    ::r1::detail::log_line(::r1::log_level::level, (component))
