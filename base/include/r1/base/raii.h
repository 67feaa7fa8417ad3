// RAII owners for the C handles r1 uses. Every fd, mapping, FILE, CURL, EVP
// context, archive or child process is held by one of these (or a
// unique_handle built from them) so no error path can leak it.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "r1/base/status.h"

namespace r1 {

// unique_ptr for C APIs with a free function: unique_handle<CURL, curl_easy_cleanup>.
template <typename T, auto Free>
struct c_deleter {
  void operator()(T* p) const {
    if (p) Free(p);
  }
};
template <typename T, auto Free>
using unique_handle = std::unique_ptr<T, c_deleter<T, Free>>;

// An owned file descriptor; closed on destruction.
class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  ~unique_fd() { reset(); }
  unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// A read-only memory mapping of a whole file. Movable, not copyable.
// The mapping stays valid after the file is unlinked; it is unmapped on destruction.
class mapped_file {
 public:
  mapped_file() = default;
  ~mapped_file();
  mapped_file(mapped_file&& o) noexcept;
  mapped_file& operator=(mapped_file&& o) noexcept;
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;

  // Maps `path` read-only (MAP_SHARED, so pages come from the page cache and
  // are shared between processes). An empty file maps to data() == nullptr, size() == 0.
  static result<mapped_file> open(const std::string& path);

  const uint8_t* data() const { return static_cast<const uint8_t*>(addr_); }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Drops this process's mapping of the whole pages inside [p, p + n) (MADV_DONTNEED):
  // they leave its resident set and are read back from the page cache if touched
  // again, so the contents never change. Ranges outside the mapping are ignored.
  void release(const void* p, size_t n) const;

 private:
  void* addr_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

// Opens with O_CLOEXEC; errors carry the path.
result<unique_fd> open_fd(const std::string& path, int flags, mode_t mode = 0644);
// Loops over short writes and EINTR.
status write_all(int fd, const void* data, size_t size, std::string_view what);
// Reads a whole file (refuses files larger than max_bytes with resource_exhausted).
result<std::string> read_file(const std::string& path, size_t max_bytes = size_t{64} << 20);
// Writes a file atomically: temp file in the same directory, fsync, rename, fsync dir.
// `mode` is the new file's permission bits (before the umask).
status write_file_atomic(const std::string& path, std::string_view data, mode_t mode = 0644);
// fsync a directory so a rename inside it is durable.
status fsync_dir(const std::string& dir);

}  // namespace r1
