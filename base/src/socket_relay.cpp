#include "r1/base/socket_relay.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>

#include "r1/base/log.h"

namespace r1 {

namespace {

// Writes all of `len`; false on an error (peer gone).
bool send_all(int fd, const char* p, size_t len) {
  while (len > 0) {
    ssize_t n = ::send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

void relay_bytes(int a, int b) {
  bool open_a = true, open_b = true;  // whether reading from a / b may still give data
  char buf[64 * 1024];
  while (open_a || open_b) {
    pollfd fds[2] = {{a, static_cast<short>(open_a ? POLLIN : 0), 0}, {b, static_cast<short>(open_b ? POLLIN : 0), 0}};
    int r = ::poll(fds, 2, -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < 2; ++i) {
      bool& open = i == 0 ? open_a : open_b;
      int from = i == 0 ? a : b, to = i == 0 ? b : a;
      if (!open || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::recv(from, buf, sizeof buf, 0);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {
        open = false;
        ::shutdown(to, SHUT_WR);  // pass the half-close on
        if (n < 0) return;
        continue;
      }
      if (!send_all(to, buf, static_cast<size_t>(n))) return;
    }
  }
}

struct socket_relay::impl {
  unique_fd listener;
  unique_fd wake_read, wake_write;
  open_fn open;
  size_t max_connections = 64;
  std::thread acceptor;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  struct connection {
    int client = -1, up = -1;
    bool done = false;
    std::thread worker;
  };
  std::list<connection> conns;

  void accept_loop();
  void reap_finished(std::unique_lock<std::mutex>& lk);
};

void socket_relay::impl::reap_finished(std::unique_lock<std::mutex>& lk) {
  for (auto it = conns.begin(); it != conns.end();) {
    if (!it->done) {
      ++it;
      continue;
    }
    std::thread t = std::move(it->worker);
    it = conns.erase(it);
    lk.unlock();
    t.join();
    lk.lock();
  }
}

void socket_relay::impl::accept_loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lk(mu);
      reap_finished(lk);
      cv.wait(lk, [&] { return stopping || conns.size() < max_connections; });
      if (stopping) return;
    }
    pollfd fds[2] = {{listener.get(), POLLIN, 0}, {wake_read.get(), POLLIN, 0}};
    int r = ::poll(fds, 2, 1000);
    if (r < 0 && errno != EINTR) return;
    if (r <= 0 || (fds[1].revents & POLLIN)) continue;  // timeout or woken: re-check stopping
    int c = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    unique_fd client(c);
    auto up = open(client.get());
    if (!up.ok()) {
      R1_LOG(warn, "relay") << "refused a connection: " << up.error().message();
      continue;
    }
    std::lock_guard<std::mutex> lk(mu);
    if (stopping) return;
    conns.emplace_back();
    connection& conn = conns.back();
    conn.client = client.get();
    conn.up = up->fd.get();
    conn.worker = std::thread([this, &conn, cfd = std::move(client), u = std::move(*up)]() mutable {
      relay_bytes(cfd.get(), u.fd.get());
      if (u.on_close) u.on_close();
      std::lock_guard<std::mutex> lk2(mu);
      cfd.reset();
      u.fd.reset();
      conn.client = conn.up = -1;
      conn.done = true;
      cv.notify_all();
    });
  }
}

result<std::unique_ptr<socket_relay>> socket_relay::start(unique_fd listener, open_fn open, size_t max_connections) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return errno_status("pipe", errno);
  std::unique_ptr<socket_relay> r(new socket_relay());
  r->impl_ = std::make_unique<impl>();
  r->impl_->wake_read.reset(p[0]);
  r->impl_->wake_write.reset(p[1]);
  r->impl_->listener = std::move(listener);
  r->impl_->open = std::move(open);
  r->impl_->max_connections = max_connections == 0 ? 1 : max_connections;
  r->impl_->acceptor = std::thread([i = r->impl_.get()] { i->accept_loop(); });
  return r;
}

socket_relay::~socket_relay() { stop(); }

void socket_relay::stop() {
  if (!impl_) return;
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
    for (auto& c : impl_->conns) {
      if (c.client >= 0) ::shutdown(c.client, SHUT_RDWR);
      if (c.up >= 0) ::shutdown(c.up, SHUT_RDWR);
    }
    impl_->cv.notify_all();
  }
  char b = 1;
  (void)!::write(impl_->wake_write.get(), &b, 1);
  if (impl_->acceptor.joinable()) impl_->acceptor.join();
  std::list<impl::connection> conns;
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    conns.swap(impl_->conns);
  }
  for (auto& c : conns)
    if (c.worker.joinable()) c.worker.join();
}

}  // namespace r1
