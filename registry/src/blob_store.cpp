#include "r1/registry/blob_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <vector>

#include "r1/base/paths.h"
#include "r1/base/raii.h"
#include "r1/registry/digest.h"

namespace r1::registry {

namespace {

constexpr size_t io_buffer_bytes = size_t{1} << 20;

status mismatch(std::string_view expected, const std::string& actual, uint64_t bytes) {
  return corrupt("digest mismatch: expected " + std::string(expected) + ", got " + actual + " (" +
                 std::to_string(bytes) + " bytes); the data was discarded");
}

}  // namespace

result<blob_store> blob_store::open(const std::string& blobs_dir) {
  std::string err;
  if (!make_dirs(blobs_dir, &err)) return io_error("create blob directory " + err);
  return blob_store(blobs_dir);
}

result<std::string> blob_store::path_for(std::string_view digest) const {
  R1_ASSIGN_OR_RETURN(std::string d, validate_digest(digest));
  return dir_ + "/sha256-" + d.substr(7);
}

result<std::string> blob_store::partial_path_for(std::string_view digest) const {
  R1_ASSIGN_OR_RETURN(std::string p, path_for(digest));
  return p + "-partial";
}

result<std::string> blob_store::partial_state_path_for(std::string_view digest) const {
  R1_ASSIGN_OR_RETURN(std::string p, path_for(digest));
  return p + "-partial.json";
}

bool blob_store::has(std::string_view digest) const {
  auto p = path_for(digest);
  struct stat st;
  return p.ok() && ::stat(p->c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

result<uint64_t> blob_store::size_of(std::string_view digest) const {
  R1_ASSIGN_OR_RETURN(std::string p, path_for(digest));
  struct stat st;
  if (::stat(p.c_str(), &st) != 0) return errno_status("blob " + std::string(digest), errno);
  return static_cast<uint64_t>(st.st_size);
}

std::string blob_store::temp_path(std::string_view tag) const {
  static std::atomic<uint64_t> counter{0};
  return dir_ + "/.tmp-" + std::string(tag) + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

status blob_store::commit_verified(const std::string& temp, std::string_view digest) {
  R1_ASSIGN_OR_RETURN(std::string final_path, path_for(digest));
  {
    R1_ASSIGN_OR_RETURN(unique_fd fd, open_fd(temp, O_RDONLY));
    if (::fsync(fd.get()) != 0) return errno_status("fsync " + temp, errno);
  }
  if (::rename(temp.c_str(), final_path.c_str()) != 0) return errno_status("rename " + temp, errno);
  return fsync_dir(dir_);
}

result<std::string> blob_store::put_bytes(std::string_view bytes) {
  std::string digest = sha256_of(bytes);
  if (has(digest)) return digest;
  std::string tmp = temp_path("put");
  status s = [&]() -> status {
    R1_ASSIGN_OR_RETURN(unique_fd fd, open_fd(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644));
    return write_all(fd.get(), bytes.data(), bytes.size(), tmp);
  }();
  if (s.ok()) s = commit_verified(tmp, digest);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return digest;
}

result<std::string> blob_store::put_stream(std::string_view expected_digest, uint64_t expected_size,
                                           const std::function<int64_t(void*, size_t)>& read) {
  R1_RETURN_IF_ERROR(validate_digest(expected_digest).error());
  std::string tmp = temp_path("stream");
  sha256_hasher hasher;
  status s = [&]() -> status {
    R1_ASSIGN_OR_RETURN(unique_fd fd, open_fd(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644));
    std::vector<char> buf(io_buffer_bytes);
    for (;;) {
      int64_t n = read(buf.data(), buf.size());
      if (n < 0) return io_error("blob " + std::string(expected_digest) + ": reading the upload failed");
      if (n == 0) break;
      if (expected_size != UINT64_MAX && hasher.bytes_hashed() + static_cast<uint64_t>(n) > expected_size)
        return corrupt("blob " + std::string(expected_digest) + ": more than the expected " +
                       std::to_string(expected_size) + " bytes");
      hasher.update(buf.data(), static_cast<size_t>(n));
      R1_RETURN_IF_ERROR(write_all(fd.get(), buf.data(), static_cast<size_t>(n), tmp));
    }
    if (expected_size != UINT64_MAX && hasher.bytes_hashed() != expected_size)
      return corrupt("blob " + std::string(expected_digest) + ": got " + std::to_string(hasher.bytes_hashed()) +
                     " bytes, expected " + std::to_string(expected_size));
    uint64_t n = hasher.bytes_hashed();
    std::string actual = hasher.finish();
    if (actual != expected_digest) return mismatch(expected_digest, actual, n);
    return {};
  }();
  if (s.ok()) s = commit_verified(tmp, expected_digest);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return std::string(expected_digest);
}

result<std::string> blob_store::put_file_copy(const std::string& path, std::string_view expected_digest) {
  if (!expected_digest.empty()) R1_RETURN_IF_ERROR(validate_digest(expected_digest).error());
  R1_ASSIGN_OR_RETURN(unique_fd in, open_fd(path, O_RDONLY));
  std::string tmp = temp_path("copy");
  std::string actual;
  status s = [&]() -> status {
    R1_ASSIGN_OR_RETURN(unique_fd out, open_fd(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644));
    sha256_hasher hasher;
    std::vector<char> buf(io_buffer_bytes);
    for (;;) {
      ssize_t n = ::read(in.get(), buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_status("read " + path, errno);
      }
      if (n == 0) break;
      hasher.update(buf.data(), static_cast<size_t>(n));
      R1_RETURN_IF_ERROR(write_all(out.get(), buf.data(), static_cast<size_t>(n), tmp));
    }
    uint64_t n = hasher.bytes_hashed();
    actual = hasher.finish();
    if (!expected_digest.empty() && actual != expected_digest) return mismatch(expected_digest, actual, n);
    return {};
  }();
  if (s.ok()) s = commit_verified(tmp, actual);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return actual;
}

result<std::string> blob_store::put_file_link(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return errno_status("stat " + path, errno);
  if (!S_ISREG(st.st_mode)) return invalid_argument(path + " is not a regular file");
  std::string tmp = temp_path("link");
  bool linked = ::link(path.c_str(), tmp.c_str()) == 0;
  if (!linked) {
    // Other file system (EXDEV) or links not allowed: try a reflink, then copy.
    R1_ASSIGN_OR_RETURN(unique_fd in, open_fd(path, O_RDONLY));
    R1_ASSIGN_OR_RETURN(unique_fd out, open_fd(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644));
    if (::ioctl(out.get(), FICLONE, in.get()) != 0) {
      ::unlink(tmp.c_str());
      return put_file_copy(path, "");
    }
  }
  auto digest = sha256_of_file(tmp);
  if (!digest.ok()) {
    ::unlink(tmp.c_str());
    return digest.error();
  }
  if (has(*digest)) {  // already stored: keep the existing blob
    ::unlink(tmp.c_str());
    return digest;
  }
  status s = commit_verified(tmp, *digest);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return digest;
}

status blob_store::remove(std::string_view digest) {
  R1_ASSIGN_OR_RETURN(std::string p, path_for(digest));
  if (::unlink(p.c_str()) != 0 && errno != ENOENT) return errno_status("remove " + p, errno);
  return {};
}

result<std::vector<blob_store::entry>> blob_store::list() const {
  std::vector<entry> out;
  unique_handle<DIR, ::closedir> d(::opendir(dir_.c_str()));
  if (!d) return errno_status("open " + dir_, errno);
  while (struct dirent* e = ::readdir(d.get())) {
    std::string name = e->d_name;
    if (name.size() != 7 + 64 || name.compare(0, 7, "sha256-") != 0) continue;
    std::string digest = "sha256:" + name.substr(7);
    if (!is_valid_digest(digest)) continue;
    struct stat st;
    if (::stat((dir_ + "/" + name).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    out.push_back({digest, static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtime)});
  }
  return out;
}

}  // namespace r1::registry
