#include "request_context.h"

#include <atomic>
#include <chrono>

#include <openssl/rand.h>

#include "r1/base/log.h"

namespace r1::daemon {

namespace {
thread_local std::chrono::steady_clock::time_point t_start{};
thread_local bool t_active = false;
}  // namespace

bool request_id_is_sane(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

result<std::string> random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    return internal_error("the system's random generator is unavailable (RAND_bytes failed)");
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string request_id_for(std::string_view incoming) {
  if (request_id_is_sane(incoming)) return std::string(incoming);
  auto id = random_hex(16);
  if (id.ok()) return *id;
  // Not a secret: a clock-and-counter id is unique enough when the generator is unavailable.
  static std::atomic<uint64_t> n{0};
  uint64_t t = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  std::string fallback = "t";  // appended: `"t" + std::to_string()` is a false GCC 12 -Wrestrict at -O3
  fallback.append(std::to_string(t)).append("-").append(std::to_string(++n));
  return fallback;
}

std::string request_id_in_log_line(std::string_view line) {
  // "<time> <level> <component> [<id>]: ": the id is the first " [" before the first ": ".
  size_t colon = line.find("]: ");
  if (colon == std::string_view::npos || colon > 256) return "";
  size_t open = line.rfind(" [", colon);
  if (open == std::string_view::npos) return "";
  std::string_view id = line.substr(open + 2, colon - open - 2);
  return request_id_is_sane(id) ? std::string(id) : "";
}

void begin_request(const std::string& id) {
  set_thread_request_id(id);
  t_start = std::chrono::steady_clock::now();
  t_active = true;
}

double request_elapsed_s() {
  if (!t_active) return -1;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
}

void end_request() {
  set_thread_request_id("");
  t_active = false;
}

}  // namespace r1::daemon
