// r1d of the build tree as a real process for end-to-end tests: a free
// loopback port, its own model store in a temporary directory (removed with
// it), the build's r1-runner, and the r1 CLI pointed at it.
//
//   auto d = r1::test_support::daemon_process::start({"--context-length", "256"});
//   ASSERT_TRUE(d) << "r1d did not start";
//   auto r = d->cli({"list"});
//
// Not thread-safe: one test thread drives a daemon_process.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "r1/api/client.h"
#include "r1/test_support/process.h"
#include "r1/test_support/temp_dir.h"

namespace r1::test_support {

// Writes <dir>/<name>.gguf with r1-mkmodel: a tiny random-weight qwen2 model with a real Qwen
// vocabulary (cut to 3000 tokens) and DeepSeek-R1-Distill's special tokens and chat template.
// Returns its path, or "" when r1-mkmodel failed.
std::string make_model(const std::string& dir, const std::string& name, int seed = 1);

struct daemon_options {
  // Extra r1d flags ("--name", "value" or "--name=value"), after --host, --models, --runner and --threads 2.
  std::vector<std::string> flags;
  std::string tag = "r1d";  // names the temporary directory
  // Ready when r1d logs "r1d listening on" (works for https and unix-socket setups too);
  // otherwise when plain HTTP on the port answers.
  bool ready_on_log_line = false;
  int start_timeout_ms = 15000;
};

class daemon_process {
 public:
  // nullptr when r1d exited or did not get ready in time (its log then goes to stderr).
  static std::unique_ptr<daemon_process> start(const std::vector<std::string>& flags = {});
  static std::unique_ptr<daemon_process> start_with(const daemon_options& opts);
  ~daemon_process() = default;  // terminates r1d, then removes the directory
  daemon_process(const daemon_process&) = delete;
  daemon_process& operator=(const daemon_process&) = delete;

  int port() const { return port_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_.path(); }  // temporary directory; holds models/ and r1d.log
  const std::string& models_dir() const { return models_; }
  pid_t pid() const { return proc_.pid(); }
  std::string log() const;
  api::client_options client_options() const;
  // Runs the r1 CLI against this daemon: R1_HOST is this daemon, R1_NOHISTORY=1 and R1_API_KEY
  // empty unless `env` sets them.
  proc_result cli(const std::vector<std::string>& args, const std::string& stdin_text = "",
                  std::map<std::string, std::string> env = {}) const;
  // SIGTERM and wait (SIGKILL after 10 s); the exit code, -1 when not running.
  int terminate() { return proc_.terminate(); }

 private:
  explicit daemon_process(const std::string& tag) : dir_(tag) {}
  bool wait_ready(const daemon_options& opts);
  temp_dir dir_;
  std::string models_;
  background_process proc_;  // declared after dir_: stopped before the directory goes
  int port_ = 0;
};

}  // namespace r1::test_support
