#include "r1/test_support/registry_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <httplib.h>

#include "r1/base/raii.h"

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
    auto proc = background_process::start({binary, "serve", config}, f->log_path());
    if (!proc.ok()) return proc.error();
    f->proc_ = std::move(*proc);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    // An exit means the port was probably taken: try another.
    while (std::chrono::steady_clock::now() < deadline && f->proc_.running()) {
      if (http_answers("127.0.0.1", f->port_, "/v2/", 500)) return f;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    f->proc_.terminate(0);
  }
  auto log = read_file(f->log_path(), 1 << 16);
  return unavailable("docker-registry did not start: " + (log.ok() ? *log : std::string("(no log)")));
}

registry_fixture::~registry_fixture() { proc_.terminate(2000); }

}  // namespace r1::test_support
