// Child processes for tests: programs of the build tree run to completion, and
// long-running ones (r1d, r1 serve) started in the background with stdout and
// stderr in a log file.
//
// Not thread-safe: start and stop children from the test's thread.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "r1/base/status.h"

namespace r1::test_support {

// <build>/bin/<name>.
std::string bin(const std::string& name);

// A whole file, or "" when it cannot be read.
std::string slurp(const std::string& path);

// A waitpid() status as a shell reports it: the exit status, or 128 + the signal.
int exit_code(int wait_status);

struct proc_result {
  int code = -1;  // exit_code(); 127 when the program could not be run
  std::string out, err;
};
// Runs `argv` (argv[0] a path) to completion with extra environment variables and stdin.
proc_result run_program(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
                        const std::string& stdin_text = "");

// A child running in the background; terminated (SIGTERM, then SIGKILL) on destruction.
class background_process {
 public:
  // Starts `argv` with stdout and stderr written to `log_path` (truncated) and extra environment variables.
  static result<background_process> start(const std::vector<std::string>& argv, const std::string& log_path,
                                          const std::map<std::string, std::string>& env = {});
  background_process() = default;
  background_process(background_process&& o) noexcept : pid_(o.pid_) { o.pid_ = -1; }
  background_process& operator=(background_process&& o) noexcept;
  ~background_process() { terminate(); }

  pid_t pid() const { return pid_; }
  // False once the child has exited (it is reaped then).
  bool running();
  // SIGTERM, then SIGKILL after `grace_ms`; the exit code (137 when killed), -1 when not running.
  int terminate(int grace_ms = 10000);

 private:
  pid_t pid_ = -1;
};

}  // namespace r1::test_support
