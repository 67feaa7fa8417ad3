#include "r1/test_support/registry_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <httplib.h>

#include "r1/base/raii.h"

extern char** environ;

namespace r1::test_support {

int free_loopback_port() {
  unique_fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return 0;
  socklen_t len = sizeof addr;
  if (::getsockname(s.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  return ntohs(addr.sin_port);
}

bool http_answers(const std::string& host, int port, const std::string& path, int timeout_ms) {
  httplib::Client cli(host, port);
  cli.set_connection_timeout(0, timeout_ms * 1000);
  cli.set_read_timeout(0, timeout_ms * 1000);
  auto res = cli.Get(path.c_str());
  return static_cast<bool>(res);
}

result<std::unique_ptr<registry_fixture>> registry_fixture::start(const std::string& binary) {
  if (::access(binary.c_str(), X_OK) != 0) return unavailable(binary + " is not installed (package docker-registry)");
  std::unique_ptr<registry_fixture> f(new registry_fixture());
  for (int attempt = 0; attempt < 3; ++attempt) {
    f->port_ = free_loopback_port();
    if (f->port_ == 0) return unavailable("no free loopback port");
    const std::string config = f->dir_.path() + "/config.yml";
    const std::string yaml = "version: 0.1\n"
                             "log:\n  level: error\n  accesslog:\n    disabled: true\n"
                             "storage:\n  filesystem:\n    rootdirectory: " + f->storage_dir() + "\n"
                             "  delete:\n    enabled: true\n"
                             "http:\n  addr: " + f->host() + "\n  secret: r1-test-secret\n";
    R1_RETURN_IF_ERROR(write_file_atomic(config, yaml));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, f->log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, f->log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    std::string arg0 = binary, arg1 = "serve";
    char* argv[] = {arg0.data(), arg1.data(), const_cast<char*>(config.c_str()), nullptr};
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return errno_status("spawn " + binary, rc);
    f->pid_ = pid;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      int st = 0;
      if (::waitpid(pid, &st, WNOHANG) == pid) {  // exited: the port was probably taken
        f->pid_ = -1;
        break;
      }
      if (http_answers("127.0.0.1", f->port_, "/v2/", 500)) return f;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (f->pid_ > 0) {
      ::kill(f->pid_, SIGKILL);
      ::waitpid(f->pid_, nullptr, 0);
      f->pid_ = -1;
    }
  }
  auto log = read_file(f->log_path(), 1 << 16);
  return unavailable("docker-registry did not start: " + (log.ok() ? *log : std::string("(no log)")));
}

registry_fixture::~registry_fixture() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

}  // namespace r1::test_support
