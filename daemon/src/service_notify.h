// Readiness and shutdown notices to a service manager (systemd's sd_notify
// protocol), so that a `Type=notify` unit counts r1d as started only once its
// listener accepts connections.
//
// Without a service manager (no NOTIFY_SOCKET in the environment) and in builds
// without libsystemd, every call does nothing. Never fails the daemon: a notice
// that cannot be delivered is logged at debug level and dropped.
// Thread safety: callable from any thread.
#pragma once

#include <string>

namespace r1::daemon {

// True when this build can send notices (it was linked with libsystemd).
bool service_notify_supported();

// READY=1 plus a one-line STATUS= text ("listening on 127.0.0.1:11434").
void notify_ready(const std::string& status_text);

// STOPPING=1 plus a STATUS= text, sent when shutdown begins.
void notify_stopping(const std::string& status_text);

}  // namespace r1::daemon
