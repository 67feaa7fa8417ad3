// Image manifests (Docker schema 2 / OCI image manifest) and Ollama's media types.
//
// A manifest is kept as the exact bytes received (its digest is the sha256 of
// those bytes) plus the parsed view. parse() is bounds-checked: at most
// max_manifest_bytes, at most max_layers layers, every digest validated, sizes
// non-negative and below 2^53. Value type; thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "r1/base/status.h"

namespace r1::registry {

namespace media_type {
inline constexpr std::string_view docker_manifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view docker_manifest_list = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view docker_config = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view model = "application/vnd.ollama.image.model";
inline constexpr std::string_view adapter = "application/vnd.ollama.image.adapter";
inline constexpr std::string_view projector = "application/vnd.ollama.image.projector";
inline constexpr std::string_view template_ = "application/vnd.ollama.image.template";
inline constexpr std::string_view prompt = "application/vnd.ollama.image.prompt";  // legacy template
inline constexpr std::string_view system = "application/vnd.ollama.image.system";
inline constexpr std::string_view params = "application/vnd.ollama.image.params";
inline constexpr std::string_view messages = "application/vnd.ollama.image.messages";
inline constexpr std::string_view license = "application/vnd.ollama.image.license";
}  // namespace media_type

// The Accept header value sent with every manifest request.
std::string_view manifest_accept_header();

inline constexpr size_t max_manifest_bytes = size_t{4} << 20;
inline constexpr size_t max_layers = 4096;

struct descriptor {
  std::string media_type;
  std::string digest;  // validated "sha256:<hex>"
  uint64_t size = 0;
  std::string from;    // optional: "namespace/model" it can be mounted from
  std::map<std::string, std::string> annotations;  // optional (OCI), e.g. the file title
};

struct manifest {
  int schema_version = 2;
  std::string media_type = std::string(media_type::docker_manifest);
  descriptor config;
  std::vector<descriptor> layers;

  // Parses manifest bytes. corrupt with a message naming the field for bad input,
  // resource_exhausted when larger than max_manifest_bytes.
  static result<manifest> parse(std::string_view bytes);
  // Canonical JSON bytes for a manifest we build ourselves.
  std::string serialize() const;

  // Config plus layers, config first: every blob the manifest needs.
  std::vector<descriptor> blobs() const;
  // Sum of config and layer sizes (what `list` reports).
  uint64_t total_size() const;
  // Layers of one media type, in manifest order (several model layers = shards).
  std::vector<descriptor> layers_of(std::string_view type) const;
};

}  // namespace r1::registry
