// Model names as users write them: [scheme://][host[:port]/][namespace/]model[:tag]
//
//   deepseek-r1            -> registry.ollama.ai/library/deepseek-r1:latest
//   deepseek-r1:7b         -> registry.ollama.ai/library/deepseek-r1:7b
//   user/m:q4              -> registry.ollama.ai/user/m:q4
//   hf.co/bartowski/X-GGUF:Q4_K_M (Hugging Face speaks the same protocol)
//   localhost:5000/team/m:v1 (a port stays part of the host)
//
// Grammar per part (host 350, others 80 characters at most):
//   host [A-Za-z0-9_][A-Za-z0-9_.:-]*   namespace [A-Za-z0-9_][A-Za-z0-9_-]*
//   model/tag [A-Za-z0-9_][A-Za-z0-9_.-]*
// Names compare case-insensitively. Plain value type; thread-compatible.
#pragma once

#include <string>
#include <string_view>

#include "r1/base/status.h"

namespace r1::registry {

inline constexpr std::string_view default_host = "registry.ollama.ai";
inline constexpr std::string_view default_namespace = "library";
inline constexpr std::string_view default_tag = "latest";

struct model_name {
  std::string scheme;  // "" (decided by registry settings), "https" or "http" if written
  std::string host;
  std::string name_space;
  std::string model;
  std::string tag;

  // Parses and fills defaults. invalid_argument says which part is wrong and why.
  // A "@sha256:..." digest suffix is refused (pull by digest is not supported).
  static result<model_name> parse(std::string_view text);

  // Short form for users: default host and namespace dropped, tag always shown
  // ("deepseek-r1:7b", "user/m:latest", "hf.co/u/r:Q4_K_M").
  std::string display() const;
  // Fully qualified "host/namespace/model:tag".
  std::string full() const;
  // "namespace/model" for /v2/<repo>/...: lower-cased as OCI requires, except
  // on hf.co / huggingface.co where repository ids keep their case.
  std::string repository() const;
  // Path of the manifest relative to the store root:
  // "manifests/<host>/<namespace>/<model>/<tag>" (host with ':' kept, as Ollama does).
  std::string manifest_rel_path() const;
  // Case-insensitive comparison of all parts except scheme.
  bool same_as(const model_name& other) const;
};

// True for localhost, *.localhost, 127.0.0.0/8 and [::1], with or without a port.
bool is_loopback_host(std::string_view host);

}  // namespace r1::registry
