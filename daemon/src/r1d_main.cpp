// r1d: the r1 daemon. Reads its configuration once (defaults < config file <
// R1_* environment < flags), serves until SIGTERM/SIGINT, then stops every
// runner and exits.
#include <signal.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "r1/base/config.h"
#include "r1/base/log.h"
#include "r1/daemon/daemon_config.h"
#include "r1/daemon/server.h"
#include "service_notify.h"

extern char** environ;

namespace {

std::string exe_dir() {
  char buf[PATH_MAX] = {};
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<size_t>(n));
  return p.substr(0, p.rfind('/'));
}

std::string env_or(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

int main(int argc, char** argv) {
  // Signals are taken by a waiting thread, never by a handler in the middle of other code.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  r1::config cfg(r1::daemon::daemon_option_specs());
  CLI::App app{"r1d: the r1 model daemon (Ollama- and OpenAI-compatible HTTP API)"};
  std::string config_path = env_or("R1_CONFIG");
  bool print_config = false, options_markdown = false;
  app.add_option("--config", config_path, "configuration file (key = value lines; env R1_CONFIG)");
  app.add_flag("--print-config", print_config, "print the effective configuration and exit");
  app.add_flag("--options-markdown", options_markdown, "print the options table as Markdown (for the docs) and exit");
  std::map<std::string, std::string> flag_values;
  for (const auto& spec : cfg.specs()) {
    std::string flag = "--" + spec.name;
    for (auto& c : flag) if (c == '_') c = '-';
    app.add_option(flag, flag_values[spec.name], spec.help + " [" + spec.env + ", default \"" + spec.default_value + "\"]");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (options_markdown) {
    std::cout << "| option | flag | environment | default | meaning |\n|---|---|---|---|---|\n";
    for (const auto& spec : cfg.specs()) {
      std::string flag = "--" + spec.name;
      for (auto& c : flag) if (c == '_') c = '-';
      std::cout << "| `" << spec.name << "` | `" << flag << "` | `" << spec.env << "` | `" << spec.default_value
                << "` | " << spec.help << " |\n";
    }
    return 0;
  }
  if (!config_path.empty()) {
    if (auto st = cfg.load_file(config_path); !st.ok()) {
      std::cerr << "r1d: " << st.message() << "\n";
      return 2;
    }
  }
  if (auto st = cfg.load_env(environ); !st.ok()) {
    std::cerr << "r1d: " << st.message() << "\n";
    return 2;
  }
  for (const auto& [name, value] : flag_values) {
    if (value.empty()) continue;
    if (auto st = cfg.set(name, value, r1::config_source::flag); !st.ok()) {
      std::cerr << "r1d: " << st.message() << "\n";
      return 2;
    }
  }
  auto settings = r1::daemon::settings_from_config(cfg, exe_dir(), env_or("HOME"), env_or("XDG_DATA_HOME"));
  if (!settings.ok()) {
    std::cerr << "r1d: " << settings.error().message() << "\n";
    return 2;
  }
  if (print_config) {
    std::cout << r1::daemon::describe_config(cfg);
    return 0;
  }
  r1::log_level lvl = r1::log_level::info;
  r1::parse_log_level(settings->log_level, &lvl);
  r1::set_log_level(lvl);
  r1::set_log_format(settings->log_format == "json" ? r1::log_format::json : r1::log_format::text);
  R1_LOG(info, "daemon") << "configuration:\n" << r1::daemon::describe_config(cfg);

  r1::daemon::server srv(*settings);
  if (auto st = srv.start(); !st.ok()) {
    std::cerr << "r1d: " << st.message() << "\n";
    return 1;
  }
  std::cout << "r1d listening on " << settings->host << ":" << srv.port() << std::endl;
  // The socket is bound and listening: a Type=notify unit may now count r1d as started.
  r1::daemon::notify_ready("listening on " + settings->host + ":" + std::to_string(srv.port()) + ", models in " +
                           settings->models_dir);
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&sigs, &sig);
    R1_LOG(info, "daemon") << "received " << (sig == SIGTERM ? "SIGTERM" : "SIGINT") << "; stopping";
    r1::daemon::notify_stopping("stopping: unloading models");
    srv.stop();
  });
  srv.wait();
  // If stop() came from elsewhere, release the signal waiter.
  kill(getpid(), SIGTERM);
  waiter.join();
  return 0;
}
