#include "r1/registry/digest.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "r1/base/assert.h"
#include "r1/base/raii.h"

namespace r1::registry {

namespace {
constexpr std::string_view prefix = "sha256:";
using md_ctx = unique_handle<EVP_MD_CTX, EVP_MD_CTX_free>;
}  // namespace

bool is_valid_digest(std::string_view digest) {
  if (digest.size() != prefix.size() + 64 || digest.substr(0, prefix.size()) != prefix) return false;
  for (char c : digest.substr(prefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

result<std::string> validate_digest(std::string_view digest) {
  if (is_valid_digest(digest)) return std::string(digest);
  std::string shown(digest.substr(0, 100));
  if (digest.substr(0, prefix.size()) != prefix)
    return invalid_argument("digest '" + shown + "': only sha256 digests ('sha256:<64 hex>') are accepted");
  return invalid_argument("digest '" + shown + "': expected 'sha256:' and 64 lower-case hex characters");
}

struct sha256_hasher::impl {
  md_ctx ctx{EVP_MD_CTX_new()};
  void reset() {
    R1_ASSERT(ctx != nullptr);
    R1_ASSERT(EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1);
  }
};

sha256_hasher::sha256_hasher() : impl_(std::make_unique<impl>()) { impl_->reset(); }
sha256_hasher::~sha256_hasher() = default;
sha256_hasher::sha256_hasher(sha256_hasher&&) noexcept = default;
sha256_hasher& sha256_hasher::operator=(sha256_hasher&&) noexcept = default;

void sha256_hasher::update(const void* data, size_t size) {
  if (size == 0) return;
  R1_ASSERT(EVP_DigestUpdate(impl_->ctx.get(), data, size) == 1);
  bytes_ += size;
}

std::string sha256_hasher::finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  R1_ASSERT(EVP_DigestFinal_ex(impl_->ctx.get(), md, &len) == 1 && len == 32);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(prefix);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  impl_->reset();
  bytes_ = 0;
  return out;
}

std::string sha256_of(std::string_view bytes) {
  sha256_hasher h;
  h.update(bytes);
  return h.finish();
}

result<std::string> sha256_of_file(const std::string& path) {
  R1_ASSIGN_OR_RETURN(unique_fd fd, open_fd(path, O_RDONLY));
  sha256_hasher h;
  std::vector<char> buf(size_t{1} << 20);
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status("read " + path, errno);
    }
    if (n == 0) break;
    h.update(buf.data(), static_cast<size_t>(n));
  }
  return h.finish();
}

}  // namespace r1::registry
