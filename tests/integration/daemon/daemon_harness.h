// Test harness: runs r1d, r1 and r1-mkmodel from the build tree as real processes.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "r1/api/client.h"
#include "r1/test_support/temp_dir.h"

namespace r1::test {

std::string bin(const std::string& name);  // <build>/bin/<name>

struct proc_result {
  int code = -1;
  std::string out, err;
};
// Runs a program to completion with extra environment variables and optional stdin.
proc_result run_program(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
                        const std::string& stdin_text = "");

// Writes a small random-weight model with R1's chat template; returns its path.
std::string make_model(const std::string& dir, const std::string& name, int seed = 1);

class daemon_process {
 public:
  // Starts r1d on a free loopback port with its own model store; extra flags as "--name=value".
  static std::unique_ptr<daemon_process> start(const std::vector<std::string>& flags = {});
  ~daemon_process();

  int port() const { return port_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& models_dir() const { return models_; }
  pid_t pid() const { return pid_; }
  std::string log() const;
  api::client_options client_options() const;
  // Runs the r1 CLI against this daemon.
  proc_result cli(const std::vector<std::string>& args, const std::string& stdin_text = "") const;
  // SIGTERM and wait; returns the exit status.
  int terminate();

 private:
  daemon_process() = default;
  test_support::temp_dir dir_{"r1d"};
  std::string models_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace r1::test
