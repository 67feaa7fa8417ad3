#include "unix_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace r1::daemon {

namespace {

result<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return invalid_argument("unix socket path '" + path + "' is empty or longer than " +
                            std::to_string(sizeof addr.sun_path - 1) + " bytes");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

// Removes a socket file nobody answers on; refuses anything else.
status clear_stale(const std::string& path, const sockaddr_un& addr) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return {};
  if (!S_ISSOCK(st.st_mode)) return already_exists(path + " exists and is not a socket");
  unique_fd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe.valid()) return errno_status("socket", errno);
  if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0)
    return already_exists("another daemon is listening on " + path);
  if (::unlink(path.c_str()) != 0) return errno_status("remove stale socket " + path, errno);
  return {};
}

result<unique_fd> connect_loopback(int port, int* local_port) {
  unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errno_status("socket", errno);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0)
    return errno_status("connect to 127.0.0.1:" + std::to_string(port), errno);
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in local{};
  socklen_t len = sizeof local;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &len) != 0) return errno_status("getsockname", errno);
  *local_port = ntohs(local.sin_port);
  return fd;
}

}  // namespace

result<std::unique_ptr<unix_listener>> unix_listener::start(const std::string& path, int target_port,
                                                             size_t max_connections) {
  R1_ASSIGN_OR_RETURN(sockaddr_un addr, unix_address(path));
  R1_RETURN_IF_ERROR(clear_stale(path, addr));
  unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errno_status("socket", errno);
  // The socket is created 0660 from the start (no window where it is wider). umask is
  // process-wide: the server binds the socket before it serves any request.
  mode_t old = ::umask(0117);
  int rc = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::umask(old);
  if (rc != 0) return errno_status("bind " + path, err);
  if (::chmod(path.c_str(), 0660) != 0) return errno_status("chmod " + path, errno);
  if (::listen(fd.get(), 128) != 0) return errno_status("listen " + path, errno);
  std::unique_ptr<unix_listener> l(new unix_listener());
  l->path_ = path;
  unix_listener* self = l.get();
  auto relay = socket_relay::start(
      std::move(fd),
      [self, target_port](int) -> result<socket_relay::upstream> {
        int local = 0;
        R1_ASSIGN_OR_RETURN(unique_fd up, connect_loopback(target_port, &local));
        {
          std::lock_guard<std::mutex> lk(self->mu_);
          self->ports_.insert(local);
        }
        return socket_relay::upstream{std::move(up), [self, local] {
                                        std::lock_guard<std::mutex> lk(self->mu_);
                                        auto it = self->ports_.find(local);
                                        if (it != self->ports_.end()) self->ports_.erase(it);
                                      }};
      },
      max_connections);
  if (!relay.ok()) {
    ::unlink(path.c_str());
    return relay.error();
  }
  l->relay_ = std::move(*relay);
  return l;
}

unix_listener::~unix_listener() {
  if (relay_) relay_->stop();
  ::unlink(path_.c_str());
}

bool unix_listener::is_relay_port(int port) const {
  std::lock_guard<std::mutex> lk(mu_);
  return ports_.count(port) > 0;
}

}  // namespace r1::daemon
