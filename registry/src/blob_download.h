// Downloads one blob into the blob store (private to r1::registry).
//
// The blob is fetched in byte ranges by up to max_parallel_parts workers into
// one pre-sized partial file (blobs/sha256-<hex>-partial); the part table is
// saved to sha256-<hex>-partial.json about once a second, so a later run (even
// in another process) resumes where this one stopped. A worker that runs out of
// parts splits the largest remaining one (so one slow connection cannot hold
// the tail). The calling thread hashes the contiguous downloaded prefix while
// the workers write, so the digest is known as soon as the last byte lands; on
// a match the file is fsynced and renamed into place, on a mismatch the partial
// data is deleted. The partial file is flock()ed so two processes never write it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "http.h"
#include "r1/base/status.h"
#include "r1/registry/blob_store.h"
#include "r1/registry/manifest.h"
#include "r1/registry/registry_client.h"
#include "session.h"

namespace r1::registry::detail {

struct download_target {
  descriptor blob;     // digest and size to expect
  std::string host;    // registry host as in the model name (for credentials)
  std::string base_url;
  std::string repository;  // "namespace/model"
};

// Runs the download on the calling thread (plus worker threads it joins).
// `on_progress(completed_bytes)` is called from the calling thread.
// Returns ok once the blob is committed; cancelled when `cancel` was set (the
// partial data stays for a resume); corrupt naming both digests on mismatch.
status download_blob(const client_options& options, blob_store& store, token_cache& tokens, rate_limiter* limiter,
                     const download_target& target, const std::atomic<bool>* cancel,
                     const std::function<void(uint64_t)>& on_progress);

}  // namespace r1::registry::detail
