// Runs a helper program (the runner's --list-devices, its bench) to completion and returns what
// it printed: stdout whole, the tail of stderr for error messages. Blocks the calling thread.
#pragma once

#include <string>
#include <vector>

#include "r1/base/status.h"

namespace r1::daemon {

struct child_output {
  std::string out;       // stdout
  std::string err_tail;  // the last 4 KiB of stderr
  int exit_code = -1;    // -1 when killed by a signal
};

// unavailable when `exe` cannot be started; a run that fails still returns its output.
result<child_output> run_for_output(const std::string& exe, const std::vector<std::string>& args);

}  // namespace r1::daemon
