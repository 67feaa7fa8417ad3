// Content digests ("sha256:<64 lower-case hex>") and streaming SHA-256.
//
// Every path in the blob store is derived from a digest that passed
// is_valid_digest() first; nothing else may build a blob path (see
// blob_store::path_for). Only sha256 is accepted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "r1/base/status.h"

namespace r1::registry {

// True for exactly "sha256:" followed by 64 characters of [0-9a-f].
bool is_valid_digest(std::string_view digest);

// Returns the digest unchanged when valid, else invalid_argument naming what is
// wrong ("digest 'sha256:../x': expected 64 lower-case hex characters").
result<std::string> validate_digest(std::string_view digest);

// Streaming SHA-256 over OpenSSL EVP. Not thread-safe; one per stream. Movable.
class sha256_hasher {
 public:
  sha256_hasher();
  ~sha256_hasher();
  sha256_hasher(sha256_hasher&&) noexcept;
  sha256_hasher& operator=(sha256_hasher&&) noexcept;
  sha256_hasher(const sha256_hasher&) = delete;
  sha256_hasher& operator=(const sha256_hasher&) = delete;

  void update(const void* data, size_t size);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
  // "sha256:<hex>". The hasher is reset afterwards and can be reused.
  std::string finish();
  uint64_t bytes_hashed() const { return bytes_; }

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  uint64_t bytes_ = 0;
};

// "sha256:<hex>" of a byte string.
std::string sha256_of(std::string_view bytes);
// "sha256:<hex>" of a file's whole content (io errors carry the path).
result<std::string> sha256_of_file(const std::string& path);

}  // namespace r1::registry
