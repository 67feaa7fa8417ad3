// r1 as a service, with real processes from the build tree: r1d tells a service
// manager when it is ready and when it stops (the sd_notify datagram protocol,
// received here on a real Unix socket), `r1 info` reports the daemon and its
// models directory, and `r1 serve` refuses an address an r1 daemon already serves.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "r1/api/client.h"
#include "r1/test_support/daemon_process.h"
#include "r1/test_support/registry_fixture.h"
#include "r1/test_support/temp_dir.h"

namespace {

using r1::test_support::bin;
using r1::test_support::daemon_process;
using r1::test_support::run_program;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A datagram socket standing in for systemd's notify socket.
class notify_socket {
 public:
  explicit notify_socket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (fd_ < 0 || path.size() >= sizeof addr.sun_path) return;
    path.copy(addr.sun_path, path.size());
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~notify_socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return bound_; }
  // The next datagram, or "" after `timeout_s` seconds without one.
  std::string receive(int timeout_s) {
    timeval tv{timeout_s, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
};

bool service_unit_installed() {
  for (const char* p : {"/etc/systemd/system/r1d.service", "/lib/systemd/system/r1d.service",
                        "/usr/lib/systemd/system/r1d.service"})
    if (::access(p, F_OK) == 0) return true;
  return false;
}

TEST(service, readiness_and_stopping_notices_reach_the_service_manager) {
#if !defined(R1_TEST_HAVE_SYSTEMD)
  GTEST_SKIP() << "r1d is built without libsystemd here: it sends no notices";
#endif
  r1::test_support::temp_dir dir("notify");
  notify_socket sock(dir / "notify.sock");
  ASSERT_TRUE(sock.ok());
  // The daemon inherits the variable, as it would from systemd; the test process does not keep it.
  ::setenv("NOTIFY_SOCKET", (dir / "notify.sock").c_str(), 1);
  auto d = daemon_process::start();
  ::unsetenv("NOTIFY_SOCKET");
  ASSERT_NE(d, nullptr);
  std::string ready = sock.receive(10);
  EXPECT_TRUE(contains(ready, "READY=1\n")) << ready;
  // Sent once the socket listens: it names the port actually bound and the store.
  EXPECT_TRUE(contains(ready, "STATUS=listening on 127.0.0.1:" + std::to_string(d->port()) + ", models in " +
                                  d->models_dir()))
      << ready;
  EXPECT_EQ(sock.receive(1), "") << "only one notice before shutdown";
  EXPECT_EQ(d->terminate(), 0) << d->log();
  std::string stopping = sock.receive(10);
  EXPECT_TRUE(contains(stopping, "STOPPING=1\n")) << stopping;
}

TEST(service, api_info_gives_the_models_dir_behind_the_key_check) {
  auto d = daemon_process::start({"--api-keys=inference-key"});
  ASSERT_NE(d, nullptr);
  r1::api::client_options o = d->client_options();
  r1::api::client anonymous(o);
  auto refused = anonymous.get("/api/info");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), r1::error_code::permission_denied) << refused.error().message();
  EXPECT_TRUE(anonymous.get("/api/version").ok());  // stays open: the CLI probes with it
  o.api_key = "inference-key";
  r1::api::client keyed(o);
  auto info = keyed.get("/api/info");
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_EQ(info->value("models_dir", ""), d->models_dir());
  EXPECT_FALSE(info->value("version", "").empty());

  // The CLI says why it cannot tell, and tells once it has the key.
  auto no_key = d->cli({"info"});
  ASSERT_EQ(no_key.code, 0) << no_key.err;
  EXPECT_TRUE(contains(no_key.out, "models:          unknown (")) << no_key.out;
  auto with_key = run_program({bin("r1"), "info"}, {{"R1_HOST", d->host()}, {"R1_API_KEY", "inference-key"}});
  ASSERT_EQ(with_key.code, 0) << with_key.err;
  EXPECT_TRUE(contains(with_key.out, "models:          " + d->models_dir() + " (this daemon's store)")) << with_key.out;
}

TEST(service, info_names_the_daemon_its_store_and_the_user_store) {
  auto d = daemon_process::start();
  ASSERT_NE(d, nullptr);
  auto r = run_program({bin("r1"), "info"},
                       {{"R1_HOST", d->host()}, {"HOME", "/home/someone"}, {"XDG_DATA_HOME", ""}, {"R1_MODELS", ""}});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "daemon:          " + d->host() + " (from R1_HOST)")) << r.out;
  EXPECT_TRUE(contains(r.out, "                 running, version ")) << r.out;
  EXPECT_TRUE(contains(r.out, "models:          " + d->models_dir() + " (this daemon's store)")) << r.out;
  EXPECT_TRUE(contains(r.out, "user daemon:     `r1 serve` keeps models in /home/someone/.local/share/r1/models\n"))
      << r.out;
  EXPECT_EQ(contains(r.out, "system service:  r1d.service installed"), service_unit_installed()) << r.out;
  EXPECT_EQ(contains(r.out, "system service:  not installed"), !service_unit_installed()) << r.out;

  auto xdg = run_program({bin("r1"), "info"}, {{"R1_HOST", d->host()}, {"XDG_DATA_HOME", "/data/x"}, {"R1_MODELS", ""}});
  EXPECT_TRUE(contains(xdg.out, "keeps models in /data/x/r1/models\n")) << xdg.out;
  auto env = run_program({bin("r1"), "info"}, {{"R1_HOST", d->host()}, {"R1_MODELS", "/srv/m"}});
  EXPECT_TRUE(contains(env.out, "keeps models in /srv/m (from R1_MODELS)")) << env.out;
}

TEST(service, info_says_when_no_daemon_runs) {
  std::string host = "127.0.0.1:" + std::to_string(r1::test_support::free_loopback_port());
  auto r = run_program({bin("r1"), "info"}, {{"R1_HOST", host}});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "daemon:          " + host + " (from R1_HOST)\n                 not running\n")) << r.out;
  EXPECT_FALSE(contains(r.out, "models:   ")) << r.out;
}

TEST(service, serve_refuses_an_address_an_r1_daemon_serves) {
  auto d = daemon_process::start();
  ASSERT_NE(d, nullptr);
  // Through R1_HOST, as r1d would read it, and through the --host flag.
  auto by_env = run_program({bin("r1"), "serve"}, {{"R1_HOST", d->host()}});
  auto by_flag = run_program({bin("r1"), "serve", "--host", d->host()}, {{"R1_HOST", ""}});
  auto by_flag_eq = run_program({bin("r1"), "serve", "--host=" + d->host()}, {{"R1_HOST", ""}});
  for (const auto* r : {&by_env, &by_flag, &by_flag_eq}) {
    EXPECT_EQ(r->code, 1) << r->out << r->err;
    EXPECT_TRUE(contains(r->err, "Error: an r1 daemon is already running on " + d->host() +
                                     " and keeps its models in " + d->models_dir()))
        << r->err;
    EXPECT_TRUE(contains(r->err, "R1_HOST=127.0.0.1:" + std::to_string(d->port() + 1) + " r1 serve")) << r->err;
  }
  // The running daemon is untouched, and r1d flags that start nothing still pass through.
  EXPECT_TRUE(r1::test_support::http_answers("127.0.0.1", d->port(), "/", 2000));
  auto print = run_program({bin("r1"), "serve", "--print-config"}, {{"R1_HOST", d->host()}});
  EXPECT_EQ(print.code, 0) << print.err;
  EXPECT_TRUE(contains(print.out, "host = \"" + d->host() + "\"  # env (R1_HOST)")) << print.out;
}

TEST(service, serve_starts_the_daemon_on_a_free_address) {
  r1::test_support::temp_dir dir("serve");
  int port = r1::test_support::free_loopback_port();
  std::string host = "127.0.0.1:" + std::to_string(port);
  const std::vector<std::string> argv = {bin("r1"), "serve", "--models", dir / "models", "--runner",
                                         bin("r1-runner")};
  auto serve = r1::test_support::background_process::start(argv, dir / "log", {{"R1_HOST", host}});
  ASSERT_TRUE(serve.ok()) << serve.error().to_string();
  bool up = false;
  for (int i = 0; i < 200 && !up; ++i) {
    up = r1::test_support::http_answers("127.0.0.1", port, "/", 200);
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const int code = serve->terminate();
  EXPECT_TRUE(up) << "r1 serve did not bring up a daemon on a free address";
  EXPECT_EQ(code, 0);
}

}  // namespace
