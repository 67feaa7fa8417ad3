#include "unix_bridge.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

namespace r1::api {

result<unique_fd> connect_unix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) return invalid_argument("unix socket path '" + path + "' is too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errno_status("socket", errno);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    return errno_status("connect to unix socket " + path, errno);
  return fd;
}

namespace {
int local_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return 0;
  return ntohs(a.sin_port);
}
}  // namespace

result<std::unique_ptr<unix_bridge>> unix_bridge::start(const std::string& socket_path) {
  unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errno_status("socket", errno);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) return errno_status("bind 127.0.0.1:0", errno);
  if (::listen(fd.get(), 16) != 0) return errno_status("listen", errno);
  std::unique_ptr<unix_bridge> b(new unix_bridge());
  b->path_ = socket_path;
  b->port_ = local_port(fd.get());
  unix_bridge* self = b.get();
  auto relay = socket_relay::start(
      std::move(fd),
      [self](int client) -> result<socket_relay::upstream> {
        sockaddr_in peer{};
        socklen_t len = sizeof peer;
        if (::getpeername(client, reinterpret_cast<sockaddr*>(&peer), &len) != 0) return errno_status("getpeername", errno);
        int port = ntohs(peer.sin_port);
        {
          std::lock_guard<std::mutex> lk(self->mu_);
          if (peer.sin_addr.s_addr != htonl(INADDR_LOOPBACK) || self->reserved_.erase(port) == 0)
            return permission_denied("connection from a port this client did not reserve");
        }
        R1_ASSIGN_OR_RETURN(unique_fd up, connect_unix(self->path_));
        return socket_relay::upstream{std::move(up), nullptr};
      },
      16);
  if (!relay.ok()) return relay.error();
  b->relay_ = std::move(*relay);
  return b;
}

unix_bridge::~unix_bridge() {
  if (relay_) relay_->stop();
}

bool unix_bridge::reserve(int sock) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(sock, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) return false;
  int port = local_port(sock);
  if (port == 0) return false;
  std::lock_guard<std::mutex> lk(mu_);
  reserved_.insert(port);
  return true;
}

}  // namespace r1::api
