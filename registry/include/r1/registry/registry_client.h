// Pull and push models between a model_store and OCI/Ollama registries
// (registry.ollama.ai, hf.co, Docker distribution, Harbor, zot ...).
//
// Pull: manifest with a full Accept list (capped at 4 MiB), the bearer-token
// challenge (anonymous or with per-host credentials, sent only to the
// registry's own host or an allow-listed realm host), redirects followed
// without forwarding Authorization to another host, large blobs in parallel
// byte ranges with resume across restarts (partial file + JSON part state),
// stall detection, retries with backoff, re-splitting of slow parts, an
// optional bandwidth cap, sha256 computed while streaming and checked before
// the blob is committed, and one shared download per digest across
// concurrent pulls. The manifest is written last.
//
// Push: HEAD to skip existing blobs, cross-repository mount when a layer names
// its source, monolithic or chunked upload, then the manifest.
//
// Thread safety: one registry_client may run many pulls/pushes concurrently.
// It must outlive every call; its destructor waits for background downloads.
// Credentials are never logged.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "r1/base/status.h"
#include "r1/registry/manifest.h"
#include "r1/registry/model_name.h"
#include "r1/registry/model_store.h"

namespace r1::registry {

struct registry_credentials {
  std::string username;  // with password: Basic to the token realm / registry
  std::string password;
  std::string token;     // or a ready bearer token sent as-is
};

struct client_options {
  // Hosts (as in the model name, "host[:port]") that may be reached over plain
  // http. Loopback hosts always may. There is deliberately no per-request
  // "insecure" switch (Ollama's /api/pull has one): plain http is a property of
  // a registry in the configuration, not of a request.
  std::vector<std::string> insecure_registries;
  // host -> base URL that replaces "https://<host>" (a company mirror).
  std::map<std::string, std::string> host_overrides;
  // host -> credentials for that registry.
  std::map<std::string, registry_credentials> credentials;
  // Extra hosts that may receive credentials as a token realm.
  std::vector<std::string> allowed_realm_hosts;
  // Ollama's signed-key auth (registry.ollama.ai, ollama.com and the hosts
  // below): ed25519 identity key files in OpenSSH format. The first that
  // exists is used read-only; when none exists the last one is created on the
  // first challenge that needs it. Empty: such challenges fail with
  // permission_denied. See identity_key.h.
  std::vector<std::string> identity_key_paths;
  // Further registry hosts ("host[:port]" as in model names) that use
  // Ollama's signed-key auth instead of anonymous/Basic token requests.
  std::vector<std::string> ollama_auth_hosts;
  std::string user_agent = "r1/0.1";
  std::string ca_file;  // "" = system trust store

  int max_parallel_parts = 8;               // concurrent ranges per blob
  uint64_t min_part_bytes = 16ull << 20;    // below 2 x this: one stream
  uint64_t max_part_bytes = 1000ull << 20;
  int max_retries = 6;                      // per part, not counting stalls
  int64_t retry_base_ms = 1000;             // backoff base: 1, 2, 4, 8 ... s (capped 30 s)
  int64_t stall_timeout_ms = 30000;         // no byte for this long => restart the part
  int64_t connect_timeout_ms = 30000;
  uint64_t bandwidth_limit_bytes_per_s = 0; // 0 = unlimited; shared by all transfers
  uint64_t upload_chunk_bytes = 0;          // 0 = monolithic upload
};

// Ollama-style progress: status text, and per blob the digest with total and
// completed bytes ("pulling manifest", "pulling 96c415656d37", "verifying sha256 digest",
// "writing manifest", "success").
struct progress_event {
  std::string status;
  std::string digest;
  uint64_t total = 0;
  uint64_t completed = 0;
};
// Called from pulling threads (never concurrently for one call); must not block long.
using progress_fn = std::function<void(const progress_event&)>;

class registry_client {
 public:
  // `store` must outlive the client.
  registry_client(model_store& store, client_options options);
  ~registry_client();
  registry_client(const registry_client&) = delete;
  registry_client& operator=(const registry_client&) = delete;

  // Pulls `name` into the store; returns the manifest written. `cancel` (may be
  // null) is polled; when set the call returns cancelled and keeps partial data
  // for a later resume.
  result<manifest> pull(const model_name& name, const progress_fn& progress,
                        const std::atomic<bool>* cancel = nullptr);
  // Pushes a stored model to the registry named by `name` (its host/namespace/model:tag).
  status push(const model_name& name, const progress_fn& progress,
              const std::atomic<bool>* cancel = nullptr);
  // Fetches only the manifest (no blobs), e.g. to check for an update.
  result<std::string> fetch_manifest(const model_name& name);

  // "https://<host>" or "http://<host>" (loopback/insecure), or the override.
  result<std::string> base_url(const model_name& name) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace r1::registry
