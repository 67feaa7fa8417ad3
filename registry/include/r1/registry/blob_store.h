// The content-addressed half of the model store: <root>/blobs/sha256-<hex>.
//
// A blob becomes visible only after its bytes were hashed, matched the
// expected digest and size, were fsynced and renamed into place; a crash at
// any point leaves at most a temp or partial file, never a wrong blob.
// Downloads in progress live next to the blobs as sha256-<hex>-partial (data)
// and sha256-<hex>-partial.json (part state), so they resume after a restart.
//
// Thread safety: all methods may be called concurrently (the file system is the
// only state; renames are atomic). Errors: invalid_argument for a malformed
// digest (checked before any path is built), corrupt for digest/size
// mismatches (naming both digests), io_error/resource_exhausted from the OS.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "r1/base/status.h"

namespace r1::registry {

class blob_store {
 public:
  // `blobs_dir` is created if missing.
  static result<blob_store> open(const std::string& blobs_dir);

  const std::string& dir() const { return dir_; }

  // <dir>/sha256-<hex>; invalid_argument unless is_valid_digest(digest).
  result<std::string> path_for(std::string_view digest) const;
  // Paths of a download in progress (same validation).
  result<std::string> partial_path_for(std::string_view digest) const;
  result<std::string> partial_state_path_for(std::string_view digest) const;

  bool has(std::string_view digest) const;
  // Size of a stored blob; not_found if absent.
  result<uint64_t> size_of(std::string_view digest) const;

  // Stores bytes; returns their digest. Idempotent.
  result<std::string> put_bytes(std::string_view bytes);
  // Reads up to `limit` bytes from `read` (returns bytes read, 0 at end, -1 on
  // error) into a temp file while hashing, checks `expected_digest` and
  // `expected_size` (pass UINT64_MAX when unknown), then commits.
  // On mismatch nothing is stored and the error names both digests.
  result<std::string> put_stream(std::string_view expected_digest, uint64_t expected_size,
                                 const std::function<int64_t(void* buf, size_t cap)>& read);
  // Copies a file in, verifying `expected_digest` ("" = compute and accept).
  result<std::string> put_file_copy(const std::string& path, std::string_view expected_digest);
  // Brings a file on the same file system in without copying its bytes: a hard
  // link (else a reflink, else a copy across file systems). The digest is
  // computed from the file; the caller's file must not be modified afterwards
  // because it shares storage with the blob.
  result<std::string> put_file_link(const std::string& path);
  // Commits an already-written temp file in this directory whose content has
  // been verified to hash to `digest` (fsync + rename + fsync dir).
  status commit_verified(const std::string& temp_path, std::string_view digest);
  // A unique temp path in this directory (not created).
  std::string temp_path(std::string_view tag) const;

  status remove(std::string_view digest);

  struct entry {
    std::string digest;
    uint64_t size = 0;
    int64_t mtime_unix = 0;
  };
  // Committed blobs only.
  result<std::vector<entry>> list() const;

 private:
  explicit blob_store(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

}  // namespace r1::registry
