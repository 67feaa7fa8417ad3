// Model bundles for air-gapped machines: one tar archive (optionally zstd)
// holding index.json, manifests/<host>/<namespace>/<model>/<tag> and
// blobs/sha256-<hex> exactly as in the store.
//
// Import reads every entry into a temp file in the store, verifies each blob's
// digest against its entry name and each manifest's blob list, and only then
// commits blobs and manifests. Entries with unsafe or unexpected paths (absolute,
// "..", links, devices, names not matching the layout) make the whole import
// fail before anything is committed.
//
// Thread safety: safe to call concurrently with other store operations.
#pragma once

#include <string>
#include <vector>

#include "r1/base/status.h"
#include "r1/registry/model_name.h"
#include "r1/registry/model_store.h"

namespace r1::registry {

enum class bundle_compression { none, zstd };

struct export_options {
  bundle_compression compression = bundle_compression::none;
};

// Writes the named models (their manifests and every blob they use, each once)
// to `archive_path` (written via a temp file, then renamed).
status export_models(const model_store& store, const std::vector<model_name>& names,
                     const std::string& archive_path, const export_options& options = {});

// Imports every model in the archive (compression detected); returns their names.
result<std::vector<model_name>> import_models(model_store& store, const std::string& archive_path);

}  // namespace r1::registry
