// A byte relay between stream sockets: accepts connections on a listening
// socket and, for each, copies bytes both ways to an upstream socket the
// caller opens (the Unix-socket listener of r1d forwards to its loopback HTTP
// listener; the client forwards a loopback port to a Unix socket). Half-closes
// are passed on, so HTTP keep-alive and streaming replies work unchanged.
//
// Ownership: the relay owns the listening socket and every connection's two
// sockets. Thread safety: start/stop from one thread; the hooks run on relay
// threads (one accept thread, one thread per connection).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "r1/base/raii.h"
#include "r1/base/status.h"

namespace r1 {

class socket_relay {
 public:
  struct upstream {
    unique_fd fd;                    // connected upstream socket
    std::function<void()> on_close;  // runs when the connection ends (may be empty)
  };
  // Opens the upstream for a newly accepted client socket; an error closes the client.
  using open_fn = std::function<result<upstream>(int client_fd)>;

  // Starts accepting on `listener` (already bound and listening). At most
  // `max_connections` are relayed at once; more wait in the backlog.
  static result<std::unique_ptr<socket_relay>> start(unique_fd listener, open_fn open, size_t max_connections);
  ~socket_relay();  // stop()
  socket_relay(const socket_relay&) = delete;
  socket_relay& operator=(const socket_relay&) = delete;

  // Stops accepting, ends every open connection and joins all threads.
  void stop();

 private:
  socket_relay() = default;
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Copies bytes between two connected sockets until both directions are closed
// or an error occurs. Exposed for tests.
void relay_bytes(int a, int b);

}  // namespace r1
