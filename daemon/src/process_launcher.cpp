#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "request_context.h"
#include "r1/base/log.h"
#include "r1/base/raii.h"
#include "r1/daemon/runner_launcher.h"

namespace r1::daemon {

namespace {

// Reads lines from an fd until EOF, calling on_line for each.
void read_lines(int fd, const std::function<void(const std::string&)>& on_line) {
  std::string buf;
  char chunk[4096];
  for (;;) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf.append(chunk, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1)
      on_line(buf.substr(start, nl - start));
    buf.erase(0, start);
    if (buf.size() > 65536) {  // a runaway line without newline: flush it
      on_line(buf);
      buf.clear();
    }
  }
  if (!buf.empty()) on_line(buf);
}

int parse_port(const std::string& line) {
  static const std::string marker = "listening on ";
  auto p = line.find(marker);
  if (p == std::string::npos) return 0;
  auto colon = line.rfind(':');
  if (colon == std::string::npos || colon < p) return 0;
  int port = 0;
  for (size_t i = colon + 1; i < line.size() && isdigit(static_cast<unsigned char>(line[i])); ++i)
    port = port * 10 + (line[i] - '0');
  return port > 0 && port < 65536 ? port : 0;
}

class child_process final : public runner_process {
 public:
  child_process(pid_t pid, std::string name) : pid_(pid), name_(std::move(name)) {}
  ~child_process() override {
    stop(std::chrono::milliseconds(2000));
    for (auto* t : {&out_thread_, &err_thread_, &reaper_})
      if (t->joinable()) t->join();
  }

  int pid() const override { return pid_; }
  int port() const override {
    std::lock_guard<std::mutex> lk(mu_);
    return port_;
  }
  // True once the process has ended, even if the reaper has not collected it yet
  // (WNOWAIT leaves the zombie for the reaper), so a death is visible at once.
  bool exited() const override {
    if (exited_.load()) return true;
    siginfo_t info{};
    return ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid_;
  }
  std::string exit_description() const override {
    std::lock_guard<std::mutex> lk(mu_);
    return exit_text_;
  }
  // Returns once the reaper has finished, on_exit included, so destroying this
  // object afterwards never waits on the exit callback.
  void stop(std::chrono::milliseconds grace) override {
    std::unique_lock<std::mutex> lk(mu_);
    if (reaped_) return;
    if (!exited_) {
      ::kill(pid_, SIGTERM);
      if (!cv_.wait_for(lk, grace, [&] { return exited_.load(); })) {
        R1_LOG(warn, "runner") << name_ << " pid " << pid_ << " did not stop after SIGTERM; killing it";
        ::kill(pid_, SIGKILL);
      }
    }
    cv_.wait(lk, [&] { return reaped_; });
  }

  // Starts the stdout/stderr readers and the reaper.
  void watch(unique_fd out, unique_fd err, std::function<void()> on_exit) {
    out_thread_ = std::thread([this, fd = std::move(out)] {
      read_lines(fd.get(), [&](const std::string& line) {
        int p = port_ == 0 ? parse_port(line) : 0;
        if (p) {
          std::lock_guard<std::mutex> lk(mu_);
          port_ = p;
          cv_.notify_all();
        } else {
          R1_LOG(info, "runner") << name_ << " pid " << pid_ << ": " << line;
        }
      });
    });
    err_thread_ = std::thread([this, fd = std::move(err)] {
      read_lines(fd.get(), [&](const std::string& line) {
        set_thread_request_id(request_id_in_log_line(line));  // the daemon's line carries the runner's request id
        R1_LOG(info, "runner") << name_ << " pid " << pid_ << ": " << line;
      });
    });
    reaper_ = std::thread([this, on_exit = std::move(on_exit)] {
      int wstatus = 0;
      while (::waitpid(pid_, &wstatus, 0) < 0 && errno == EINTR) {
      }
      {
        std::lock_guard<std::mutex> lk(mu_);
        if (WIFEXITED(wstatus)) exit_text_ = "exit code " + std::to_string(WEXITSTATUS(wstatus));
        else if (WIFSIGNALED(wstatus)) exit_text_ = std::string("killed by signal ") + std::to_string(WTERMSIG(wstatus)) +
                                                   " (" + strsignal(WTERMSIG(wstatus)) + ")";
        else exit_text_ = "ended";
        exited_ = true;
        cv_.notify_all();
      }
      R1_LOG(info, "runner") << name_ << " pid " << pid_ << " exited: " << exit_description();
      if (on_exit) on_exit();
      std::lock_guard<std::mutex> lk(mu_);
      reaped_ = true;
      cv_.notify_all();
    });
  }

  // Waits for the port announcement, the process end, or the timeout.
  status wait_port(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait_for(lk, timeout, [&] { return port_ != 0 || exited_.load(); });
    if (port_ != 0) return {};
    if (exited_) return unavailable("runner for " + name_ + " exited before it was ready: " + exit_text_);
    return unavailable("runner for " + name_ + " did not announce its port within " +
                       std::to_string(timeout.count()) + " ms");
  }

 private:
  pid_t pid_;
  std::string name_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int port_ = 0;
  std::atomic<bool> exited_{false};
  bool reaped_ = false;  // the reaper thread is done, on_exit included
  std::string exit_text_;
  std::thread out_thread_, err_thread_, reaper_;
};

class process_launcher final : public runner_launcher {
 public:
  explicit process_launcher(std::string exe) : exe_(std::move(exe)) {}

  result<std::unique_ptr<runner_process>> start(const runner_spec& spec, std::function<void()> on_exit,
                                                std::chrono::milliseconds timeout) override {
    if (::access(exe_.c_str(), X_OK) != 0)
      return not_found("runner executable " + exe_ + " is missing or not executable (set R1_RUNNER)");
    std::vector<std::string> args = {exe_};
    for (const auto& p : spec.model_paths) {
      args.push_back("--model");
      args.push_back(p);
    }
    args.insert(args.end(), {"--ctx", std::to_string(spec.ctx), "--parallel", std::to_string(spec.parallel),
                             "--kv-type", spec.kv_type, "--port", "0"});
    if (spec.threads > 0) args.insert(args.end(), {"--threads", std::to_string(spec.threads)});
    args.insert(args.end(), spec.extra_args.begin(), spec.extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return errno_status("pipe", errno);
    unique_fd out_r(out[0]), out_w(out[1]);
    if (::pipe2(err, O_CLOEXEC) != 0) return errno_status("pipe", errno);
    unique_fd err_r(err[0]), err_w(err[1]);
    int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    unique_fd null_fd(devnull);

    pid_t pid = ::fork();
    if (pid < 0) return errno_status("fork", errno);
    if (pid == 0) {
      // Child: only async-signal-safe calls until exec.
      ::dup2(null_fd.get(), 0);
      ::dup2(out_w.get(), 1);
      ::dup2(err_w.get(), 2);
      ::setpgid(0, 0);
      ::execv(argv[0], argv.data());
      _exit(127);
    }
    out_w.reset();
    err_w.reset();
    auto child = std::make_unique<child_process>(pid, spec.model_name);
    R1_LOG(info, "runner") << "started " << spec.model_name << " pid " << pid << " (" << exe_ << ")";
    child->watch(std::move(out_r), std::move(err_r), std::move(on_exit));
    status st = child->wait_port(timeout);
    if (!st.ok()) return st;  // ~child_process stops and reaps it
    return std::unique_ptr<runner_process>(std::move(child));
  }

 private:
  std::string exe_;
};

}  // namespace

std::unique_ptr<runner_launcher> make_process_launcher(std::string executable) {
  return std::make_unique<process_launcher>(std::move(executable));
}

}  // namespace r1::daemon
