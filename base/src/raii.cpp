#include "r1/base/raii.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>

namespace r1 {

void unique_fd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

mapped_file::~mapped_file() {
  if (addr_) ::munmap(addr_, size_);
}

mapped_file::mapped_file(mapped_file&& o) noexcept
    : addr_(std::exchange(o.addr_, nullptr)), size_(std::exchange(o.size_, 0)), path_(std::move(o.path_)) {}

mapped_file& mapped_file::operator=(mapped_file&& o) noexcept {
  if (this != &o) {
    if (addr_) ::munmap(addr_, size_);
    addr_ = std::exchange(o.addr_, nullptr);
    size_ = std::exchange(o.size_, 0);
    path_ = std::move(o.path_);
  }
  return *this;
}

result<mapped_file> mapped_file::open(const std::string& path) {
  R1_ASSIGN_OR_RETURN(unique_fd fd, open_fd(path, O_RDONLY));
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) return errno_status("stat " + path, errno);
  if (!S_ISREG(st.st_mode)) return invalid_argument(path + ": not a regular file");
  mapped_file m;
  m.path_ = path;
  m.size_ = static_cast<size_t>(st.st_size);
  if (m.size_ == 0) return m;
  void* p = ::mmap(nullptr, m.size_, PROT_READ, MAP_SHARED, fd.get(), 0);
  if (p == MAP_FAILED) return errno_status("mmap " + path, errno);
  m.addr_ = p;
  return m;
}

void mapped_file::release(const void* p, size_t n) const {
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto base = reinterpret_cast<uintptr_t>(addr_);
  uintptr_t a = reinterpret_cast<uintptr_t>(p), b = a + n;
  if (addr_ == nullptr || a < base || b > base + size_ || b < a) return;
  a = (a + page - 1) / page * page;
  b = b / page * page;
  if (b > a) ::madvise(reinterpret_cast<void*>(a), b - a, MADV_DONTNEED);
}

result<unique_fd> open_fd(const std::string& path, int flags, mode_t mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno_status("open " + path, errno);
  return unique_fd(fd);
}

status write_all(int fd, const void* data, size_t size, std::string_view what) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status(std::string("write ") + std::string(what), errno);
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

result<std::string> read_file(const std::string& path, size_t max_bytes) {
  R1_ASSIGN_OR_RETURN(unique_fd fd, open_fd(path, O_RDONLY));
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status("read " + path, errno);
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes)
      return resource_exhausted(path + ": larger than " + std::to_string(max_bytes) + " bytes");
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

status fsync_dir(const std::string& dir) {
  R1_ASSIGN_OR_RETURN(unique_fd fd, open_fd(dir, O_RDONLY | O_DIRECTORY));
  if (::fsync(fd.get()) != 0) return errno_status("fsync " + dir, errno);
  return {};
}

status write_file_atomic(const std::string& path, std::string_view data, mode_t mode) {
  static std::atomic<uint64_t> counter{0};
  std::filesystem::path target(path);
  std::string dir = target.parent_path().empty() ? "." : target.parent_path().string();
  std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  {
    R1_ASSIGN_OR_RETURN(unique_fd fd, open_fd(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode));
    status s = write_all(fd.get(), data.data(), data.size(), tmp);
    if (s.ok() && ::fsync(fd.get()) != 0) s = errno_status("fsync " + tmp, errno);
    if (!s.ok()) {
      ::unlink(tmp.c_str());
      return s;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return errno_status("rename " + tmp + " -> " + path, err);
  }
  return fsync_dir(dir);
}

}  // namespace r1
