// r1d's Unix socket listener, for local-only use. cpp-httplib has no AF_UNIX
// server, so each connection on the socket is relayed to the daemon's internal
// loopback HTTP listener. The relay remembers the local port of each of its
// loopback connections; a request arriving from one of those ports came through
// the socket and counts as trusted-local (admin without a key): who may connect
// is decided by the socket file's permissions (0660, the daemon's group).
//
// Thread safety: is_relay_port() may be called from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "r1/base/socket_relay.h"
#include "r1/base/status.h"

namespace r1::daemon {

class unix_listener {
 public:
  // Binds `path` (a stale socket left by a dead daemon is replaced; any other
  // existing file, or a socket another daemon answers on, is an error), sets
  // mode 0660 and relays to 127.0.0.1:`target_port`.
  static result<std::unique_ptr<unix_listener>> start(const std::string& path, int target_port, size_t max_connections);
  ~unix_listener();  // stops relaying and removes the socket file

  // True when 127.0.0.1:`port` is the near end of one of the relay's connections.
  bool is_relay_port(int port) const;
  const std::string& path() const { return path_; }

 private:
  unix_listener() = default;
  std::string path_;
  mutable std::mutex mu_;
  std::multiset<int> ports_;
  std::unique_ptr<socket_relay> relay_;
};

}  // namespace r1::daemon
