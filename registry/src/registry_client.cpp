#include "r1/registry/registry_client.h"

#include <chrono>

#include "blob_download.h"
#include "client_impl.h"
#include "r1/base/log.h"
#include "r1/registry/digest.h"

namespace r1::registry {

registry_client::registry_client(model_store& store, client_options options)
    : impl_(std::make_unique<impl>(store, std::move(options))) {}

registry_client::~registry_client() {
  std::map<std::string, std::shared_ptr<shared_download>> jobs;
  {
    std::lock_guard<std::mutex> lock(impl_->jobs_mu);
    jobs.swap(impl_->jobs);
  }
  for (auto& [digest, job] : jobs) {
    job->cancel = true;
    if (job->thread.joinable()) job->thread.join();
  }
}

result<std::string> registry_client::base_url(const model_name& name) const {
  return detail::registry_base_url(impl_->options, name);
}

result<std::string> registry_client::impl::get_manifest(detail::registry_session& session, const model_name& name) {
  detail::http_request req;
  req.url = session.base_url() + "/v2/" + name.repository() + "/manifests/" + name.reference();
  req.headers.push_back("Accept: " + std::string(manifest_accept_header()));
  req.max_body = max_manifest_bytes;
  detail::http_response resp = session.send(std::move(req), "repository:" + name.repository() + ":pull");
  if (!resp.transport.ok()) return resp.transport.with_context("manifest of " + name.display());
  if (resp.status == 404)
    return not_found("model '" + name.display() + "' was not found in registry " + name.host);
  if (resp.status != 200) {
    std::string msg = detail::registry_error_message(resp.body);
    std::string what = "manifest of " + name.display() + ": registry answered HTTP " + std::to_string(resp.status) +
                       (msg.empty() ? "" : " (" + msg + ")");
    if (resp.status == 401 || resp.status == 403) return permission_denied(what);
    if (resp.status == 429 || resp.status >= 500) return unavailable(what);
    return invalid_argument(what);
  }
  if (!name.digest.empty()) {
    // Pinned by digest: the bytes must be the ones named, before anything reads them.
    const std::string actual = sha256_of(resp.body);
    if (actual != name.digest)
      return corrupt("manifest of " + name.display() + ": registry sent a manifest with digest " + actual +
                     ", expected " + name.digest);
  }
  return std::move(resp.body);
}

status registry_client::impl::fetch_blob(const detail::download_target& target, const progress_fn& progress,
                                         const std::atomic<bool>* cancel) {
  const descriptor& d = target.blob;
  const std::string label = "pulling " + short_digest(d.digest);
  if (store.blobs().has(d.digest)) {
    report(progress, label, d.digest, d.size, d.size);
    return {};
  }
  std::shared_ptr<shared_download> job;
  {
    std::lock_guard<std::mutex> lock(jobs_mu);
    auto it = jobs.find(d.digest);
    if (it != jobs.end()) {
      bool dead = false;
      {
        std::lock_guard<std::mutex> jl(it->second->mu);
        dead = it->second->finished || it->second->cancel;
      }
      if (dead) {  // a finished or abandoned download: wait for its thread, start anew
        std::shared_ptr<shared_download> old = it->second;
        jobs.erase(it);
        it = jobs.end();
        if (old->thread.joinable()) old->thread.join();
      }
    }
    if (it == jobs.end()) {
      job = std::make_shared<shared_download>();
      shared_download* raw = job.get();
      job->thread = std::thread([this, raw, target] {
        status s = detail::download_blob(options, store.blobs(), tokens, &limiter, target, &raw->cancel,
                                         [raw](uint64_t done) { raw->completed = done; });
        std::lock_guard<std::mutex> jl(raw->mu);
        raw->result = std::move(s);
        raw->finished = true;
        raw->cv.notify_all();
      });
      jobs[d.digest] = job;
    } else {
      job = it->second;
    }
    std::lock_guard<std::mutex> jl(job->mu);
    ++job->waiters;
  }
  std::unique_lock<std::mutex> jl(job->mu);
  uint64_t last = UINT64_MAX;
  while (!job->finished) {
    if (cancel && cancel->load()) {
      if (--job->waiters == 0) job->cancel = true;  // the last one out stops the transfer
      return cancelled("pull cancelled while " + label);
    }
    job->cv.wait_for(jl, std::chrono::milliseconds(100));
    uint64_t now = job->completed.load();
    if (now != last && now != UINT64_MAX) {
      last = now;
      jl.unlock();
      report(progress, label, d.digest, d.size, now);
      jl.lock();
    }
  }
  --job->waiters;
  status s = job->result;
  jl.unlock();
  if (s.ok()) report(progress, label, d.digest, d.size, d.size);
  return s;
}

result<manifest> registry_client::pull(const model_name& name, const progress_fn& progress,
                                       const std::atomic<bool>* cancel) {
  report(progress, "pulling manifest");
  R1_ASSIGN_OR_RETURN(std::string base, base_url(name));
  detail::registry_session session(impl_->options, name.host, base, impl_->tokens, &impl_->limiter, cancel);
  R1_ASSIGN_OR_RETURN(std::string bytes, impl_->get_manifest(session, name));
  auto parsed = manifest::parse(bytes);
  if (!parsed.ok()) return parsed.error().with_context("pull " + name.display());
  const manifest& m = *parsed;
  for (const auto& d : m.blobs()) {
    detail::download_target target{d, name.host, base, name.repository()};
    status s = impl_->fetch_blob(target, progress, cancel);
    if (!s.ok()) return s.with_context("pull " + name.display());
  }
  report(progress, "verifying sha256 digest");
  for (const auto& d : m.blobs()) {
    auto size = impl_->store.blobs().size_of(d.digest);
    if (!size.ok() || *size != d.size)
      return corrupt("pull " + name.display() + ": blob " + d.digest + " has the wrong size after download");
  }
  report(progress, "writing manifest");
  R1_RETURN_IF_ERROR(impl_->store.write_manifest(name, bytes).with_context("pull " + name.display()));
  report(progress, "success");
  R1_LOG(info, "registry") << "pulled " << name.display() << " (" << m.total_size() << " bytes)";
  return parsed;
}

result<std::string> registry_client::fetch_manifest(const model_name& name) {
  R1_ASSIGN_OR_RETURN(std::string base, base_url(name));
  detail::registry_session session(impl_->options, name.host, base, impl_->tokens, &impl_->limiter, nullptr);
  R1_ASSIGN_OR_RETURN(std::string bytes, impl_->get_manifest(session, name));
  R1_RETURN_IF_ERROR(manifest::parse(bytes).error().with_context("manifest of " + name.display()));
  return bytes;
}

}  // namespace r1::registry
