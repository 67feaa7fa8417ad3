#include "r1/test_support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "r1/test_support/temp_dir.h"

extern "C" char** environ;

namespace r1::test_support {

namespace {

// argv and envp for execve, built before fork(): the child only opens, dup2()s and execs.
struct exec_args {
  exec_args(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) : args_(argv) {
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string entry = *e;
      if (!env.count(entry.substr(0, entry.find('=')))) env_.push_back(entry);
    }
    for (const auto& [k, v] : env) env_.push_back(k + "=" + v);
    for (auto& a : args_) argv_.push_back(a.data());
    argv_.push_back(nullptr);
    for (auto& e : env_) envp_.push_back(e.data());
    envp_.push_back(nullptr);
  }
  exec_args(const exec_args&) = delete;  // argv_ and envp_ point into args_ and env_
  exec_args& operator=(const exec_args&) = delete;
  [[noreturn]] void exec() const {
    ::execve(argv_[0], argv_.data(), envp_.data());
    ::_exit(127);
  }

 private:
  std::vector<std::string> args_, env_;
  std::vector<char*> argv_, envp_;
};

}  // namespace

std::string bin(const std::string& name) { return std::string(R1_BINARY_DIR) + "/bin/" + name; }

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int exit_code(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

proc_result run_program(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                        const std::string& stdin_text) {
  temp_dir io("proc");
  std::string in_path = io / "in", out_path = io / "out", err_path = io / "err";
  std::ofstream(in_path) << stdin_text;
  const exec_args exec(argv, env);
  pid_t pid = ::fork();
  if (pid == 0) {
    int in = ::open(in_path.c_str(), O_RDONLY), out = ::open(out_path.c_str(), O_WRONLY | O_CREAT, 0644),
        err = ::open(err_path.c_str(), O_WRONLY | O_CREAT, 0644);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    exec.exec();
  }
  proc_result r;
  if (pid < 0) return r;
  int st = 0;
  ::waitpid(pid, &st, 0);
  r.code = exit_code(st);
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  return r;
}

result<background_process> background_process::start(const std::vector<std::string>& argv, const std::string& log_path,
                                                      const std::map<std::string, std::string>& env) {
  if (argv.empty()) return invalid_argument("background_process: empty argv");
  const exec_args exec(argv, env);
  pid_t pid = ::fork();
  if (pid < 0) return errno_status("fork for " + argv[0], errno);
  if (pid == 0) {
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    exec.exec();
  }
  background_process p;
  p.pid_ = pid;
  return p;
}

background_process& background_process::operator=(background_process&& o) noexcept {
  if (this != &o) {
    terminate();
    pid_ = o.pid_;
    o.pid_ = -1;
  }
  return *this;
}

bool background_process::running() {
  if (pid_ <= 0) return false;
  int st = 0;
  if (::waitpid(pid_, &st, WNOHANG) != pid_) return true;
  pid_ = -1;
  return false;
}

int background_process::terminate(int grace_ms) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int st = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return exit_code(st);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &st, 0);
  pid_ = -1;
  return 137;
}

}  // namespace r1::test_support
