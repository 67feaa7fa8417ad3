#include "child_output.h"

#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "r1/base/raii.h"

extern char** environ;

namespace r1::daemon {

result<child_output> run_for_output(const std::string& exe, const std::vector<std::string>& args) {
  int out_fds[2], err_fds[2];
  if (::pipe(out_fds) != 0) return errno_status("pipe", errno);
  unique_fd out_rd(out_fds[0]), out_wr(out_fds[1]);
  if (::pipe(err_fds) != 0) return errno_status("pipe", errno);
  unique_fd err_rd(err_fds[0]), err_wr(err_fds[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out_wr.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err_wr.get(), 2);
  posix_spawn_file_actions_addclose(&fa, out_rd.get());
  posix_spawn_file_actions_addclose(&fa, err_rd.get());
  std::vector<std::string> argv_strings{exe};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  out_wr.reset();
  err_wr.reset();
  if (rc != 0) return unavailable("cannot run " + exe + ": " + std::strerror(rc));
  child_output r;
  // Both pipes at once, so that a child filling one never blocks on the other.
  pollfd fds[2] = {{out_rd.get(), POLLIN, 0}, {err_rd.get(), POLLIN, 0}};
  char buf[4096];
  for (int open = 2; open > 0;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fds[i].fd = -1;
        --open;
        continue;
      }
      std::string& to = i == 0 ? r.out : r.err_tail;
      to.append(buf, static_cast<size_t>(n));
      if (i == 1 && r.err_tail.size() > 8192) r.err_tail.erase(0, r.err_tail.size() - 4096);
    }
  }
  if (r.err_tail.size() > 4096) r.err_tail.erase(0, r.err_tail.size() - 4096);
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace r1::daemon
