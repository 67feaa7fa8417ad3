// Lets the HTTP client reach r1d's Unix socket: cpp-httplib's client speaks
// TCP only, so the client connects to a loopback port of this process and the
// bridge relays each connection to the socket. Only connections whose source
// port the client reserved (bind before connect, see reserve()) are relayed,
// so other local users cannot borrow this process's access to the socket.
//
// Thread safety: reserve() may be called from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "r1/base/socket_relay.h"
#include "r1/base/status.h"

namespace r1::api {

class unix_bridge {
 public:
  static result<std::unique_ptr<unix_bridge>> start(const std::string& socket_path);
  ~unix_bridge();

  // The loopback port to connect to.
  int port() const { return port_; }
  // Binds `sock` (a new, unconnected TCP socket) to 127.0.0.1:0 and admits its
  // source port once. false when binding fails.
  bool reserve(int sock);
  const std::string& socket_path() const { return path_; }

 private:
  unix_bridge() = default;
  std::string path_;
  int port_ = 0;
  std::mutex mu_;
  std::set<int> reserved_;
  std::unique_ptr<socket_relay> relay_;
};

// Connects to a Unix stream socket; errors name the path.
result<unique_fd> connect_unix(const std::string& path);

}  // namespace r1::api
