// r1d's HTTP server: the Ollama-compatible /api/*, the OpenAI- and
// DeepSeek-compatible /v1/* (also without the /v1 prefix), admission checks
// (Host, Origin, API keys, body size), and the services behind them (model
// store, registry client, scheduler).
//
// Lifecycle: construct with settings, start() binds and serves on background
// threads, stop() stops accepting, stops every runner and joins. Not copyable.
// Errors from start(): invalid_argument for a non-loopback address without API
// keys, io_error when the address cannot be bound or the store cannot be opened.
#pragma once

#include <memory>

#include "r1/base/status.h"
#include "r1/daemon/daemon_config.h"
#include "r1/daemon/runner_launcher.h"

namespace r1::daemon {

class server {
 public:
  // `launcher` null: runners are started from settings.runner_path.
  explicit server(daemon_settings settings, std::unique_ptr<runner_launcher> launcher = nullptr);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  status start();
  // The bound port (useful with port 0).
  int port() const;
  // Blocks until stop() is called from another thread or a signal handler thread.
  void wait();
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace r1::daemon
