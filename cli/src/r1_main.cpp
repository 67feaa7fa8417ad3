// r1: the command line client of the r1 daemon.
#include <signal.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "r1/cli/cli.h"

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  r1::cli::cli_env env;
  auto get = [](const char* k) -> std::string {
    const char* v = std::getenv(k);
    return v ? v : "";
  };
  env.host = get("R1_HOST");
  env.api_key = get("R1_API_KEY");
  env.ca_file = get("R1_CA_FILE");
  env.home = get("HOME");
  env.xdg_data_home = get("XDG_DATA_HOME");
  env.models = get("R1_MODELS");
  env.r1d_config = get("R1_CONFIG");
  env.no_history = !get("R1_NOHISTORY").empty();
  env.stdin_tty = isatty(0);
  env.stdout_tty = isatty(1);
  char buf[PATH_MAX] = {};
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  std::string exe = n > 0 ? std::string(buf, static_cast<size_t>(n)) : ".";
  env.exe_dir = exe.substr(0, exe.rfind('/'));
  return r1::cli::run_cli(argc, argv, env);
}
