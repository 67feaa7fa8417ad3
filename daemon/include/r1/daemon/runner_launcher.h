// Starting and stopping runner processes: the one seam of the daemon with an
// abstract interface (a real r1-runner process, or another executable that
// speaks the runner protocol in tests).
//
// A runner_process owns one child: its pid, the loopback port it announced on
// stdout ("listening on 127.0.0.1:PORT"), and the threads that forward its
// stderr to the daemon log (prefixed with the model name and pid) and reap it.
// Thread safety: all methods may be called from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "r1/base/status.h"

namespace r1::daemon {

struct runner_spec {
  std::string model_name;                // for log lines
  std::vector<std::string> model_paths;  // GGUF files (shards in order)
  int ctx = 4096;                        // per slot
  int parallel = 1;
  int threads = 0;                       // 0: let the runner decide
  std::string kv_type = "f16";
  std::vector<std::string> extra_args;
};

class runner_process {
 public:
  virtual ~runner_process() = default;
  virtual int pid() const = 0;
  virtual int port() const = 0;
  virtual bool exited() const = 0;
  // "exit code 1", "killed by signal 9" once exited.
  virtual std::string exit_description() const = 0;
  // SIGTERM, then SIGKILL after `grace`; waits until reaped.
  virtual void stop(std::chrono::milliseconds grace) = 0;
};

class runner_launcher {
 public:
  virtual ~runner_launcher() = default;
  // Starts a runner and waits until it announced its port (not until the model is
  // loaded; poll /health for that). `on_exit` is called once, from a reaper
  // thread, when the process ends for any reason. Errors: not_found for a missing
  // executable, unavailable when the process exits or stays silent past `timeout`.
  virtual result<std::unique_ptr<runner_process>> start(const runner_spec& spec, std::function<void()> on_exit,
                                                        std::chrono::milliseconds timeout) = 0;
};

// Launches `executable` with r1-runner's flags: --model PATH... --ctx N --parallel N
// [--threads N] --kv-type T --port 0.
std::unique_ptr<runner_launcher> make_process_launcher(std::string executable);

}  // namespace r1::daemon
