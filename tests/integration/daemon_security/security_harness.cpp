#include "security_harness.h"

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

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

nlohmann::json http_reply::json() const {
  auto j = nlohmann::json::parse(body, nullptr, false);
  return j.is_discarded() ? nlohmann::json() : j;
}

http_reply curl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/curl", "-sS", "-i", "--max-time", "60"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_program(argv);
  http_reply h;
  h.curl_exit = r.code;
  h.err = r.err;
  std::string text = r.out;
  // Skip interim "100 Continue" blocks; the last header block is the reply's.
  for (;;) {
    auto end = text.find("\r\n\r\n");
    if (end == std::string::npos || text.rfind("HTTP/", 0) != 0) break;
    std::string head = text.substr(0, end);
    text = text.substr(end + 4);
    std::istringstream lines(head);
    std::string line;
    std::getline(lines, line);
    auto sp = line.find(' ');
    h.status = sp == std::string::npos ? 0 : std::atoi(line.c_str() + sp + 1);
    h.headers.clear();
    while (std::getline(lines, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      h.headers[lower(line.substr(0, colon))] = v;
    }
    if (h.status != 100) break;
  }
  h.body = text;
  return h;
}

std::string make_tls_files(const std::string& dir) {
  std::ofstream(dir + "/san.cnf") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                  << "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                                  << "extendedKeyUsage=serverAuth\n";
  std::vector<std::vector<std::string>> steps = {
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/ca.key", "-out",
       dir + "/ca.pem", "-days", "2", "-subj", "/CN=r1 test CA"},
      {"/usr/bin/openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/server.key", "-out",
       dir + "/server.csr", "-subj", "/CN=localhost"},
      {"/usr/bin/openssl", "x509", "-req", "-in", dir + "/server.csr", "-CA", dir + "/ca.pem", "-CAkey",
       dir + "/ca.key", "-CAcreateserial", "-out", dir + "/server.pem", "-days", "2", "-extfile", dir + "/san.cnf"},
  };
  for (const auto& s : steps) {
    auto r = run_program(s);
    if (r.code != 0) return s[1] + " failed: " + r.err;
  }
  return "";
}

std::unique_ptr<r1d_process> r1d_process::start(const std::vector<std::string>& flags) {
  std::unique_ptr<r1d_process> d(new r1d_process());
  d->port_ = test_support::free_loopback_port();
  std::vector<std::string> argv = {bin("r1d"), "--host", d->host(), "--models", d->dir_ / "models", "--runner",
                                   bin("r1-runner"), "--threads", "2", "--context-length", "512"};
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
  for (int i = 0; i < 300; ++i) {
    if (slurp(log).find("r1d listening on") != std::string::npos) return d;
    int st = 0;
    if (waitpid(d->pid_, &st, WNOHANG) == d->pid_) {
      d->pid_ = -1;
      std::fprintf(stderr, "r1d exited at start:\n%s\n", slurp(log).c_str());
      return nullptr;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return nullptr;
}

r1d_process::~r1d_process() { terminate(); }

int r1d_process::terminate() {
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

std::string r1d_process::log() const { return slurp(dir_ / "r1d.log"); }

proc_result r1d_process::cli(const std::vector<std::string>& args, std::map<std::string, std::string> env) const {
  std::vector<std::string> argv = {bin("r1")};
  argv.insert(argv.end(), args.begin(), args.end());
  env.emplace("R1_HOST", host());
  env.emplace("R1_NOHISTORY", "1");
  env.emplace("R1_API_KEY", "");
  return run_program(argv, env);
}

result<nlohmann::json> parse_metrics(const std::string& text) {
  std::string script = std::string(R1_SOURCE_DIR) + "/tests/integration/daemon_security/parse_metrics.py";
  auto r = run_program({"/usr/bin/python3", script}, {}, text);
  if (r.code != 0) return invalid_argument("the Prometheus parser rejected /metrics: " + r.err);
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (j.is_discarded()) return internal_error("parse_metrics.py printed no JSON: " + r.out);
  return j;
}

}  // namespace r1::test
