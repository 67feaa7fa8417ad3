#include "runner_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

namespace r1::runner_test {
namespace {

using clock_type = std::chrono::steady_clock;

int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Reads until the peer closes or the deadline passes.
std::string read_all(int fd, int timeout_ms) {
  std::string out;
  const auto deadline = clock_type::now() + std::chrono::milliseconds(timeout_ms);
  char buf[65536];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string dechunk(const std::string& body) {
  std::string out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t eol = body.find("\r\n", pos);
    if (eol == std::string::npos) break;
    const size_t len = std::strtoul(body.substr(pos, eol - pos).c_str(), nullptr, 16);
    if (len == 0) break;
    out += body.substr(eol + 2, len);
    pos = eol + 2 + len + 2;
  }
  return out;
}

std::string request_text(const std::string& method, const std::string& path, const std::string& body) {
  std::string r = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!body.empty() || method == "POST") {
    r += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return r + "\r\n" + body;
}

}  // namespace

result<std::unique_ptr<runner_process>> runner_process::start(const std::vector<std::string>& args) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return errno_status("pipe", errno);
  std::vector<std::string> argv_s = {std::string(R1_BINARY_DIR) + "/bin/r1-runner"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  argv_s.insert(argv_s.end(), {"--port", "0"});
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return errno_status("fork", errno);
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  std::unique_ptr<runner_process> p(new runner_process());
  p->pid_ = pid;
  p->stdout_fd_ = out[0];
  std::string line;
  const auto deadline = clock_type::now() + std::chrono::seconds(20);
  while (line.find('\n') == std::string::npos && clock_type::now() < deadline) {
    pollfd pf{out[0], POLLIN, 0};
    if (::poll(&pf, 1, 200) <= 0) continue;
    char c[256];
    ssize_t n = ::read(out[0], c, sizeof c);
    if (n <= 0) break;
    line.append(c, static_cast<size_t>(n));
  }
  const std::string marker = "listening on 127.0.0.1:";
  const size_t at = line.find(marker);
  if (at == std::string::npos) return unavailable("r1-runner did not announce its port: '" + line + "'");
  p->port_ = std::atoi(line.c_str() + at + marker.size());
  return p;
}

runner_process::~runner_process() {
  if (pid_ > 0) terminate(5000);
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

bool runner_process::alive() {
  if (pid_ <= 0) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

status runner_process::wait_ready(int timeout_ms) {
  const auto deadline = clock_type::now() + std::chrono::milliseconds(timeout_ms);
  while (clock_type::now() < deadline) {
    auto r = http_request(port_, "GET", "/health", {}, 2000);
    if (r.ok() && r->body.find("\"ready\"") != std::string::npos) return ok_status();
    if (r.ok() && r->body.find("\"error\"") != std::string::npos) return internal_error("runner: " + r->body);
    if (!alive()) return unavailable("r1-runner exited while loading");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return unavailable("r1-runner did not become ready");
}

int runner_process::terminate(int timeout_ms) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  const auto deadline = clock_type::now() + std::chrono::milliseconds(timeout_ms);
  int st = 0;
  while (clock_type::now() < deadline) {
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &st, 0);
  pid_ = -1;
  return -1;
}

result<http_response> http_request(int port, const std::string& method, const std::string& path,
                                   const std::string& body, int timeout_ms) {
  int fd = connect_loopback(port);
  if (fd < 0) return errno_status("connect", errno);
  const bool sent = write_all(fd, request_text(method, path, body));
  std::string raw = sent ? read_all(fd, timeout_ms) : std::string();
  ::close(fd);
  const size_t he = raw.find("\r\n\r\n");
  if (he == std::string::npos || raw.size() < 12) return unavailable("no HTTP response: '" + raw + "'");
  http_response r;
  r.status = std::atoi(raw.c_str() + 9);
  const std::string headers = raw.substr(0, he);
  r.body = raw.substr(he + 4);
  if (headers.find("Transfer-Encoding: chunked") != std::string::npos) r.body = dechunk(r.body);
  return r;
}

result<std::string> raw_exchange(int port, const std::string& bytes, int timeout_ms) {
  int fd = connect_loopback(port);
  if (fd < 0) return errno_status("connect", errno);
  write_all(fd, bytes);
  ::shutdown(fd, SHUT_WR);
  std::string r = read_all(fd, timeout_ms);
  ::close(fd);
  return r;
}

result<std::unique_ptr<http_stream>> http_stream::open(int port, const std::string& path, const std::string& body) {
  int fd = connect_loopback(port);
  if (fd < 0) return errno_status("connect", errno);
  std::unique_ptr<http_stream> s(new http_stream());
  s->fd_ = fd;
  if (!write_all(fd, request_text("POST", path, body))) return io_error("send failed");
  return s;
}

http_stream::~http_stream() { close(); }

void http_stream::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool http_stream::fill(int timeout_ms) {
  if (fd_ < 0 || eof_) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return false;
  char buf[65536];
  ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  raw_.append(buf, static_cast<size_t>(n));
  return true;
}

void http_stream::decode() {
  if (!headers_done_) {
    const size_t he = raw_.find("\r\n\r\n");
    if (he == std::string::npos) return;
    raw_.erase(0, he + 4);
    headers_done_ = true;
  }
  for (;;) {
    const size_t eol = raw_.find("\r\n");
    if (eol == std::string::npos) return;
    const size_t len = std::strtoul(raw_.substr(0, eol).c_str(), nullptr, 16);
    if (raw_.size() < eol + 2 + len + 2) return;
    decoded_ += raw_.substr(eol + 2, len);
    raw_.erase(0, eol + 2 + len + 2);
    if (len == 0) return;
  }
}

std::optional<std::string> http_stream::next_line(int timeout_ms) {
  const auto deadline = clock_type::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    decode();
    const size_t nl = decoded_.find('\n');
    if (nl != std::string::npos) {
      std::string line = decoded_.substr(0, nl);
      decoded_.erase(0, nl + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count();
    if (left <= 0 || !fill(static_cast<int>(left))) return std::nullopt;
  }
}

}  // namespace r1::runner_test
