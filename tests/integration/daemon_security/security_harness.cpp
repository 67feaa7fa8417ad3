#include "security_harness.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace r1::test {

using test_support::run_program;

namespace {
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

std::unique_ptr<test_support::daemon_process> start_r1d(const std::vector<std::string>& flags) {
  test_support::daemon_options opts;
  opts.flags = {"--context-length", "512"};
  opts.flags.insert(opts.flags.end(), flags.begin(), flags.end());
  opts.tag = "r1d-svc";
  opts.ready_on_log_line = true;
  return test_support::daemon_process::start_with(opts);
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
