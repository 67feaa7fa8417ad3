#include "r1/base/status.h"

#include <cerrno>
#include <cstring>

#include "r1/base/assert.h"

#include <cstdio>
#include <cstdlib>

namespace r1 {

std::string_view error_code_name(error_code code) {
  switch (code) {
    case error_code::ok: return "ok";
    case error_code::invalid_argument: return "invalid_argument";
    case error_code::not_found: return "not_found";
    case error_code::already_exists: return "already_exists";
    case error_code::unavailable: return "unavailable";
    case error_code::io_error: return "io_error";
    case error_code::corrupt: return "corrupt";
    case error_code::cancelled: return "cancelled";
    case error_code::resource_exhausted: return "resource_exhausted";
    case error_code::permission_denied: return "permission_denied";
    case error_code::internal: return "internal";
  }
  return "unknown";
}

std::string status::to_string() const {
  if (ok()) return "ok";
  std::string s(error_code_name(code_));
  s += ": ";
  s += message_;
  return s;
}

status status::with_context(std::string_view context) const {
  if (ok()) return *this;
  std::string m(context);
  m += ": ";
  m += message_;
  return {code_, std::move(m)};
}

status errno_status(std::string_view what, int err) {
  std::string m(what);
  m += ": ";
  m += std::strerror(err);
  switch (err) {
    case ENOENT: return not_found(std::move(m));
    case ENOSPC:
    case EDQUOT:
    case ENOMEM: return resource_exhausted(std::move(m));
    case EACCES:
    case EPERM: return permission_denied(std::move(m));
    case EEXIST: return already_exists(std::move(m));
    default: return io_error(std::move(m));
  }
}

namespace detail {
void assert_failed(const char* expr, const char* file, int line, const char* msg) {
  std::fprintf(stderr, "r1: internal assertion failed: %s at %s:%d%s%s\n", expr, file, line,
               msg ? ": " : "", msg ? msg : "");
  std::abort();
}
}  // namespace detail

}  // namespace r1
