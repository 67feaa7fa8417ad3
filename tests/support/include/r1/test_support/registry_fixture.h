// A real OCI registry for tests: Debian's docker-registry (distribution 2.8)
// started on 127.0.0.1 with an ephemeral port and a temporary storage root,
// stopped (SIGTERM, then SIGKILL) and deleted on destruction.
//
//   auto reg = r1::test_support::registry_fixture::start();
//   if (!reg.ok()) GTEST_SKIP() << reg.error().to_string();   // or FAIL
//   pull from "127.0.0.1:<port>/ns/model:tag" (loopback => plain http)
//
// Note: distribution 2.8 answers a manifest GET by tag with 400 unless an
// explicit Accept header is sent.
#pragma once

#include <memory>
#include <string>

#include "r1/base/status.h"
#include "r1/test_support/process.h"
#include "r1/test_support/temp_dir.h"

namespace r1::test_support {

class registry_fixture {
 public:
  // unavailable if the binary is missing or the registry does not answer /v2/ within 15 s.
  static result<std::unique_ptr<registry_fixture>> start(const std::string& binary = "/usr/bin/docker-registry");
  ~registry_fixture();
  registry_fixture(const registry_fixture&) = delete;
  registry_fixture& operator=(const registry_fixture&) = delete;

  int port() const { return port_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }  // as in model names
  std::string url() const { return "http://" + host(); }
  std::string storage_dir() const { return dir_.path() + "/data"; }
  std::string log_path() const { return dir_.path() + "/registry.log"; }

 private:
  registry_fixture() : dir_("registry") {}
  temp_dir dir_;
  background_process proc_;  // declared after dir_: stopped before the directory goes
  int port_ = 0;
};

// A free TCP port on 127.0.0.1 (bound and released; tiny race accepted in tests).
int free_loopback_port();

// True if `url` answers a GET with any HTTP status within `timeout_ms`.
bool http_answers(const std::string& host, int port, const std::string& path, int timeout_ms);

}  // namespace r1::test_support
