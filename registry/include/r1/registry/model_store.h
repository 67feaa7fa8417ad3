// The local model store under a root directory ($R1_MODELS):
//   blobs/sha256-<hex>                             content-addressed data (blob_store)
//   manifests/<host>/<namespace>/<model>/<tag>     manifest bytes exactly as received
//
// Manifests are written last and atomically (temp + fsync + rename), after all
// their blobs are present, so a listed model is always complete. Names match
// case-insensitively. Does not read GGUF: `show` returns manifest and layer
// facts; callers that need the GGUF summary read the model blob themselves.
//
// Thread safety: methods may be called concurrently from several threads; a
// mutex serialises manifest writes/removals with prune so a blob in use is never
// pruned. Errors: not_found for unknown models, invalid_argument for bad names
// or digests, corrupt for unreadable manifests, io_error from the OS.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "r1/base/status.h"
#include "r1/registry/blob_store.h"
#include "r1/registry/manifest.h"
#include "r1/registry/model_name.h"

namespace r1::registry {

struct model_info {
  model_name name;
  std::string manifest_digest;  // sha256 of the manifest bytes ("ID" = first 12 hex)
  uint64_t size = 0;            // config + layers
  int64_t modified_unix = 0;    // manifest mtime
};

struct model_details {
  model_info info;
  manifest man;
  std::string manifest_bytes;
  std::string config_bytes;  // the config blob (JSON), "" if absent
  // Path of each layer's blob, in manifest order (the model layer(s) are GGUF files).
  std::vector<std::string> layer_paths;
};

struct prune_report {
  std::vector<std::string> removed_blobs;
  std::vector<std::string> removed_partials;
  uint64_t bytes_freed = 0;
};

struct disk_usage_report {
  uint64_t blob_bytes = 0;     // committed blobs
  uint64_t partial_bytes = 0;  // downloads in progress (allocated size)
  uint64_t unreferenced_bytes = 0;
  size_t blob_count = 0;
  size_t model_count = 0;
};

// A layer to put into a new model (see create_model).
struct layer_source {
  std::string media_type;
  std::string bytes;        // content, or
  std::string digest;       // an existing blob's digest (bytes empty)
};

class model_store {
 public:
  // Opens (creating blobs/ and manifests/ if needed).
  static result<std::unique_ptr<model_store>> open(const std::string& root);

  const std::string& root() const { return root_; }
  blob_store& blobs() { return blobs_; }
  const blob_store& blobs() const { return blobs_; }

  // Writes manifest bytes for `name` after checking every referenced blob is
  // present with the right size (not_found otherwise). Replaces a same-name
  // manifest (case-insensitive match) atomically.
  status write_manifest(const model_name& name, std::string_view manifest_bytes);
  // Raw bytes and parsed view of a stored manifest.
  result<std::string> read_manifest_bytes(const model_name& name) const;
  result<manifest> read_manifest(const model_name& name) const;
  bool has_model(const model_name& name) const;

  // Every model whose manifest parses, sorted by modified time, newest first.
  // Unparseable manifests are skipped with a warning in the log.
  result<std::vector<model_info>> list() const;
  result<model_details> show(const model_name& name) const;

  // Removes the manifest, then the blobs no other manifest references.
  status remove(const model_name& name);
  // Writes `dst` with the same manifest bytes; no blob is copied.
  status copy(const model_name& src, const model_name& dst);

  // Deletes blobs referenced by no manifest and download leftovers whose files
  // are older than `grace_seconds`. Skips everything (failed_precondition-like
  // corrupt error) if any manifest does not parse.
  result<prune_report> prune(int64_t grace_seconds);
  result<disk_usage_report> disk_usage() const;

  // Builds a model from parts: stores byte layers, checks digest layers exist,
  // writes a config blob (model_format gguf, rootfs diff_ids) and the manifest.
  // Returns the manifest written.
  result<manifest> create_model(const model_name& name, const std::vector<layer_source>& layers,
                                std::string_view config_json_extra = {});
  // Imports a GGUF file on the same file system (hard link / reflink / copy) as
  // a blob and returns its descriptor with media type application/vnd.ollama.image.model.
  result<descriptor> import_local_gguf(const std::string& path);

  // Re-hashes every blob of a model (cache hits are otherwise trusted);
  // corrupt names the first blob whose content no longer matches its digest.
  status verify(const model_name& name) const;

  // Digests referenced by any stored manifest (configs and layers).
  result<std::vector<std::string>> referenced_digests() const;

 private:
  model_store(std::string root, blob_store blobs) : root_(std::move(root)), blobs_(std::move(blobs)) {}
  // Path of the stored manifest matching `name` case-insensitively, or not_found.
  result<std::string> find_manifest_path(const model_name& name) const;

  std::string root_;
  blob_store blobs_;
  mutable std::mutex mu_;  // serialises manifest changes against prune/remove
};

}  // namespace r1::registry
