// registry_client's private state, shared by the pull and push halves.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "blob_download.h"
#include "http.h"
#include "r1/registry/registry_client.h"
#include "session.h"

namespace r1::registry {

// "0123456789ab" for "sha256:0123456789ab...": the digest as progress lines show it.
inline std::string short_digest(const std::string& digest) {
  return digest.size() > 19 ? digest.substr(7, 12) : digest;
}

// Passes one progress event to the caller's callback, when there is one.
inline void report(const progress_fn& fn, std::string status, std::string digest = {}, uint64_t total = 0,
                   uint64_t completed = 0) {
  if (fn) fn(progress_event{std::move(status), std::move(digest), total, completed});
}

// One download of one digest, shared by every pull that needs it. The thread
// is joined by the client (when the job is replaced or at destruction).
struct shared_download {
  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  status result;
  int waiters = 0;
  std::atomic<bool> cancel{false};
  std::atomic<uint64_t> completed{UINT64_MAX};  // unknown until the download has opened its files
};

struct registry_client::impl {
  impl(model_store& s, client_options o) : store(s), options(std::move(o)), limiter(options.bandwidth_limit_bytes_per_s) {}

  // Downloads `blob` (or joins the running download of it) and reports progress.
  status fetch_blob(const detail::download_target& target, const progress_fn& progress,
                    const std::atomic<bool>* cancel);
  // GET of a manifest by tag, capped, through `session`.
  result<std::string> get_manifest(detail::registry_session& session, const model_name& name);
  status push_blob(detail::registry_session& session, const model_name& name, const descriptor& d,
                   const progress_fn& progress, const std::atomic<bool>* cancel);

  model_store& store;
  client_options options;
  detail::token_cache tokens;
  detail::rate_limiter limiter;
  std::mutex jobs_mu;
  std::map<std::string, std::shared_ptr<shared_download>> jobs;  // by digest
};

}  // namespace r1::registry
