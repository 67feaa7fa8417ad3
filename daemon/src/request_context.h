// Per-request context of r1d's HTTP layer: the request id (X-Request-Id) and
// the start time. cpp-httplib runs a request on one worker thread from the
// pre-routing handler to the logger (streamed replies included), so both live
// in thread-local storage; the id is also the log facade's request id, which
// puts it on every line the request logs and sends it on to the runner.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "r1/base/status.h"

namespace r1::daemon {

// 1 to 128 characters of [A-Za-z0-9._:-] (safe in headers, logs and JSON).
bool request_id_is_sane(std::string_view id);
// The incoming id when sane, else a new random one (32 hex digits).
std::string request_id_for(std::string_view incoming);

// The request id a text-format log line carries ("<time> <level> <component> [<id>]: ..."),
// or "" — the daemon re-logs each runner line with the runner's request id.
std::string request_id_in_log_line(std::string_view line);

// `bytes` random bytes from OpenSSL's CSPRNG as lowercase hex (key secrets, ids);
// internal_error when the generator is unavailable.
result<std::string> random_hex(size_t bytes);

// Starts a request on the calling thread: sets the log request id and the clock.
void begin_request(const std::string& id);
// Seconds since begin_request() on this thread; negative when none is active.
double request_elapsed_s();
// Clears the calling thread's request (id and clock).
void end_request();

}  // namespace r1::daemon
