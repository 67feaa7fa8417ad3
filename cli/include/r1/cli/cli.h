// The r1 command line: an HTTP client of r1d (plus `serve`, which runs r1d in
// the foreground by exec'ing the r1d binary installed next to r1).
//
//   r1 serve | pull | push | run | list (ls) | ps | show | rm | cp | stop |
//      create -f Modelfile | export | import | info
//
// run_cli() parses arguments, talks to the daemon at R1_HOST (default
// 127.0.0.1:11434, with R1_API_KEY as the bearer key), prints to the given
// streams and returns the process exit code: 0 on success, 1 on a failure the
// daemon or the system reported, 2 on a usage error.
#pragma once

#include <cstdio>
#include <string>

namespace r1::cli {

struct cli_env {
  std::string host;         // R1_HOST
  std::string api_key;      // R1_API_KEY
  std::string ca_file;      // R1_CA_FILE: CA certificates for an https:// R1_HOST
  std::string home;         // for the REPL history file and `r1 info`
  std::string xdg_data_home;  // XDG_DATA_HOME: `r1 info` names the models dir `r1 serve` uses
  std::string models;       // R1_MODELS, as r1d would read it
  std::string r1d_config;   // R1_CONFIG, as r1d would read it
  std::string exe_dir;      // where r1 lives (r1d is expected next to it)
  bool stdin_tty = false;
  bool stdout_tty = false;
  bool no_history = false;  // R1_NOHISTORY
};

int run_cli(int argc, char** argv, const cli_env& env);

}  // namespace r1::cli
