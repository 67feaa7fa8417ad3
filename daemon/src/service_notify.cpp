#include "service_notify.h"

#include "r1/base/log.h"

#if defined(R1_HAVE_SYSTEMD)
#include <systemd/sd-daemon.h>
#endif

namespace r1::daemon {

namespace {

void send(const std::string& state) {
#if defined(R1_HAVE_SYSTEMD)
  // sd_notify returns 0 when no service manager asked for notices, < 0 on a send error.
  int rc = sd_notify(0, state.c_str());
  if (rc < 0) {
    R1_LOG(debug, "daemon") << "service manager notice not delivered (error " << -rc << ")";
  }
#else
  (void)state;
#endif
}

// STATUS= is one line; anything after a newline would be read as another assignment.
std::string one_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

}  // namespace

bool service_notify_supported() {
#if defined(R1_HAVE_SYSTEMD)
  return true;
#else
  return false;
#endif
}

void notify_ready(const std::string& status_text) { send("READY=1\nSTATUS=" + one_line(status_text)); }

void notify_stopping(const std::string& status_text) { send("STOPPING=1\nSTATUS=" + one_line(status_text)); }

}  // namespace r1::daemon
