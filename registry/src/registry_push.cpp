// The push half of registry_client: blobs first (skipped when present,
// mounted when the layer names its source repository, else uploaded), then
// the manifest.
#include <fcntl.h>

#include "client_impl.h"
#include "r1/base/log.h"
#include "r1/base/raii.h"
#include "r1/registry/registry_client.h"

namespace r1::registry {

namespace {

status http_failure(const detail::http_response& r, const std::string& what) {
  if (!r.transport.ok()) return r.transport.with_context(what);
  std::string msg = detail::registry_error_message(r.body);
  std::string text = what + ": registry answered HTTP " + std::to_string(r.status) + (msg.empty() ? "" : " (" + msg + ")");
  if (r.status == 401 || r.status == 403) return permission_denied(text);
  if (r.status == 429 || r.status >= 500) return unavailable(text);
  return invalid_argument(text);
}

std::string upload_location(const detail::http_response& r, const std::string& request_url) {
  std::string loc = r.header("docker-upload-location");
  if (loc.empty()) loc = r.header("location");
  return loc.empty() ? std::string() : detail::resolve_url(request_url, loc);
}

std::string with_query(const std::string& url, const std::string& param) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + param;
}

bool valid_repository(const std::string& repo) {
  if (repo.empty() || repo.size() > 200 || repo.front() == '/' || repo.back() == '/') return false;
  for (char c : repo)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '.' && c != '_' && c != '-') return false;
  return repo.find("..") == std::string::npos;
}

}  // namespace

status registry_client::impl::push_blob(detail::registry_session& session, const model_name& name,
                                        const descriptor& d, const progress_fn& progress,
                                        const std::atomic<bool>* cancel) {
  const std::string label = "pushing " + short_digest(d.digest);
  const std::string repo = name.repository();
  const std::string scope = "repository:" + repo + ":pull,push";
  const std::string blob_url = session.base_url() + "/v2/" + repo + "/blobs/" + d.digest;
  detail::http_request head;
  head.method = "HEAD";
  head.url = blob_url;
  detail::http_response hr = session.send(head, scope);
  if (!hr.transport.ok()) return hr.transport.with_context(label);
  if (hr.status == 200) {
    report(progress, label, d.digest, d.size, d.size);
    return {};
  }
  report(progress, label, d.digest, d.size, 0);
  detail::http_request start;
  start.method = "POST";
  start.url = session.base_url() + "/v2/" + repo + "/blobs/uploads/";
  std::string start_scope = scope;
  if (!d.from.empty() && valid_repository(d.from) && d.from != repo) {
    start.url += "?mount=" + d.digest + "&from=" + detail::url_escape(d.from);
    start_scope += " repository:" + d.from + ":pull";
  }
  detail::http_response sr = session.send(start, start_scope);
  if (sr.transport.ok() && sr.status == 201) {  // mounted from another repository
    report(progress, label, d.digest, d.size, d.size);
    return {};
  }
  if (!sr.transport.ok() || sr.status != 202) return http_failure(sr, label + ": starting the upload");
  std::string location = upload_location(sr, start.url);
  if (location.empty()) return corrupt(label + ": the registry gave no upload location");
  R1_ASSIGN_OR_RETURN(std::string path, store.blobs().path_for(d.digest));
  R1_ASSIGN_OR_RETURN(unique_fd fd, open_fd(path, O_RDONLY));
  const uint64_t chunk = options.upload_chunk_bytes;
  uint64_t offset = 0;
  if (chunk > 0 && d.size > chunk) {
    while (offset < d.size) {
      if (cancel && cancel->load()) return cancelled(label + ": cancelled");
      const uint64_t len = std::min(chunk, d.size - offset);
      detail::http_request patch;
      patch.method = "PATCH";
      patch.url = location;
      patch.body_fd = fd.get();
      patch.body_offset = offset;
      patch.body_length = len;
      patch.headers = {"Content-Type: application/octet-stream",
                       "Content-Range: " + std::to_string(offset) + "-" + std::to_string(offset + len - 1)};
      detail::http_response pr = session.send(patch, scope);
      if (!pr.transport.ok() || pr.status != 202) return http_failure(pr, label + ": uploading a chunk");
      offset += len;
      std::string next = upload_location(pr, location);
      if (!next.empty()) location = next;
      report(progress, label, d.digest, d.size, offset);
    }
  }
  detail::http_request put;
  put.method = "PUT";
  put.url = with_query(location, "digest=" + d.digest);
  put.headers = {"Content-Type: application/octet-stream"};
  put.body_fd = fd.get();
  put.body_offset = offset;
  put.body_length = d.size - offset;
  detail::http_response pr = session.send(put, scope);
  if (!pr.transport.ok() || (pr.status != 201 && pr.status != 204))
    return http_failure(pr, label + ": finishing the upload");
  report(progress, label, d.digest, d.size, d.size);
  return {};
}

status registry_client::push(const model_name& name, const progress_fn& progress, const std::atomic<bool>* cancel) {
  report(progress, "retrieving manifest");
  R1_ASSIGN_OR_RETURN(std::string bytes, impl_->store.read_manifest_bytes(name));
  R1_ASSIGN_OR_RETURN(manifest m, manifest::parse(bytes));
  R1_ASSIGN_OR_RETURN(std::string base, base_url(name));
  detail::registry_session session(impl_->options, name.host, base, impl_->tokens, &impl_->limiter, cancel);
  for (const auto& d : m.blobs()) {
    if (cancel && cancel->load()) return cancelled("push " + name.display() + ": cancelled");
    R1_RETURN_IF_ERROR(impl_->push_blob(session, name, d, progress, cancel).with_context("push " + name.display()));
  }
  report(progress, "pushing manifest");
  detail::http_request put;
  put.method = "PUT";
  put.url = base + "/v2/" + name.repository() + "/manifests/" + name.reference();
  put.headers = {"Content-Type: " + (m.media_type.empty() ? std::string(media_type::docker_manifest) : m.media_type)};
  put.body = bytes;
  detail::http_response r = session.send(put, "repository:" + name.repository() + ":pull,push");
  if (!r.transport.ok() || (r.status != 201 && r.status != 200 && r.status != 202))
    return http_failure(r, "push " + name.display() + ": manifest");
  report(progress, "success");
  R1_LOG(info, "registry") << "pushed " << name.display();
  return {};
}

}  // namespace r1::registry
