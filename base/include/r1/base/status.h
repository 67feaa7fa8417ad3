// r1::status and r1::result<T>: how every expected failure travels in r1.
//
// Our code does not throw. A function that can fail on input, files, network
// data or child processes returns a status (no value) or a result<T> (a value
// or an error). The code says what kind of failure it is; the message says
// what happened with enough context to act on it ("manifest for x:y: layer 2:
// size is negative"). Only the daemon's HTTP layer maps codes to HTTP statuses.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace r1 {

enum class error_code {
  ok = 0,
  invalid_argument,    // the caller's input is wrong (name, option, request)
  not_found,           // a model, blob, file or key does not exist
  already_exists,      // would overwrite something that must not be
  unavailable,         // a peer is down or busy; retrying may help
  io_error,            // the OS refused a read, write, mmap, socket...
  corrupt,             // data failed a check (digest, format, bounds)
  cancelled,           // the operation was stopped on request
  resource_exhausted,  // out of memory, disk, queue slots, context
  permission_denied,   // credentials or scope do not allow it
  internal,            // a bug: an invariant of ours does not hold
};

// Stable lower-case name of a code ("not_found"), used in logs and JSON.
std::string_view error_code_name(error_code code);

class [[nodiscard]] status {
 public:
  status() = default;  // ok
  status(error_code code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == error_code::ok; }
  error_code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "not_found: model 'x' is not in the store" (or "ok").
  std::string to_string() const;

  // Returns a copy whose message is prefixed with context: "pull x: <message>".
  status with_context(std::string_view context) const;

 private:
  error_code code_ = error_code::ok;
  std::string message_;
};

inline status ok_status() { return {}; }

// Constructors that read well at the call site: return r1::not_found("...").
inline status invalid_argument(std::string m) { return {error_code::invalid_argument, std::move(m)}; }
inline status not_found(std::string m) { return {error_code::not_found, std::move(m)}; }
inline status already_exists(std::string m) { return {error_code::already_exists, std::move(m)}; }
inline status unavailable(std::string m) { return {error_code::unavailable, std::move(m)}; }
inline status io_error(std::string m) { return {error_code::io_error, std::move(m)}; }
inline status corrupt(std::string m) { return {error_code::corrupt, std::move(m)}; }
inline status cancelled(std::string m) { return {error_code::cancelled, std::move(m)}; }
inline status resource_exhausted(std::string m) { return {error_code::resource_exhausted, std::move(m)}; }
inline status permission_denied(std::string m) { return {error_code::permission_denied, std::move(m)}; }
inline status internal_error(std::string m) { return {error_code::internal, std::move(m)}; }

// io_error with strerror(errno) appended: "open /x: No such file or directory".
// ENOENT maps to not_found, ENOSPC/EDQUOT to resource_exhausted, EACCES/EPERM to permission_denied.
status errno_status(std::string_view what, int err);

// A value or a non-ok status. Accessing value() of an error is a programmer error.
template <typename T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  result(status s) : v_(std::move(s)) {      // NOLINT(google-explicit-constructor)
    assert(!std::get<status>(v_).ok() && "result<T> built from an ok status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // The error; ok_status() when a value is held.
  status error() const { return ok() ? status{} : std::get<status>(v_); }

  T value_or(T fallback) const& { return ok() ? std::get<T>(v_) : std::move(fallback); }

 private:
  std::variant<T, status> v_;
};

}  // namespace r1

// Propagate a failed status: R1_RETURN_IF_ERROR(write_all(fd, data));
#define R1_RETURN_IF_ERROR(expr)           \
  do {                                     \
    ::r1::status r1_status_ = (expr);      \
    if (!r1_status_.ok()) return r1_status_; \
  } while (0)

#define R1_CONCAT_INNER_(a, b) a##b
#define R1_CONCAT_(a, b) R1_CONCAT_INNER_(a, b)

// Unwrap a result or propagate its error: R1_ASSIGN_OR_RETURN(auto file, open_file(p));
#define R1_ASSIGN_OR_RETURN(decl, expr) \
  R1_ASSIGN_OR_RETURN_IMPL_(R1_CONCAT_(r1_result_, __LINE__), decl, expr)
#define R1_ASSIGN_OR_RETURN_IMPL_(tmp, decl, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.error();               \
  decl = std::move(tmp).value()
