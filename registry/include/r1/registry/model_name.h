// Model names as users write them: [scheme://][host[:port]/][namespace/]model[:tag]
//
//   deepseek-r1            -> registry.ollama.ai/library/deepseek-r1:latest
//   deepseek-r1:7b         -> registry.ollama.ai/library/deepseek-r1:7b
//   user/m:q4              -> registry.ollama.ai/user/m:q4
//   hf.co/bartowski/X-GGUF:Q4_K_M (Hugging Face speaks the same protocol)
//   localhost:5000/team/m:v1 (a port stays part of the host)
//   deepseek-r1@sha256:<64 hex>          pinned to one manifest digest
//   host/ns/m:tag@sha256:<64 hex>        tag and digest: the digest wins (as docker)
//
// A name with a digest refers to the manifest whose sha256 is that digest. In
// the store it lives under the tag "sha256-<hex>" (':' is not allowed in a
// tag), and that tag spelling parses back into the digest form, so
// "m:sha256-<hex>" and "m@sha256:<hex>" are the same model. A tag written
// next to a digest is kept in `tag` for display but does not select anything.
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
  std::string tag;     // "" only when a digest is given without a tag
  std::string digest;  // "" or "sha256:<64 lower-case hex>" (a pinned manifest)

  // Parses and fills defaults (the tag defaults to "latest" only without a
  // digest). invalid_argument says which part is wrong and why.
  static result<model_name> parse(std::string_view text);

  // Short form for users: default host and namespace dropped, tag always shown
  // ("deepseek-r1:7b", "user/m:latest", "hf.co/u/r:Q4_K_M", "m@sha256:<hex>").
  std::string display() const;
  // Fully qualified "host/namespace/model:tag" ("...model[:tag]@sha256:<hex>").
  std::string full() const;
  // What /v2/<repo>/manifests/<reference> asks for: the digest if any, else the tag.
  std::string reference() const;
  // "namespace/model" for /v2/<repo>/...: lower-cased as OCI requires, except
  // on hf.co / huggingface.co where repository ids keep their case.
  std::string repository() const;
  // Path of the manifest relative to the store root:
  // "manifests/<host>/<namespace>/<model>/<tag>" (host with ':' kept, as Ollama
  // does); "<tag>" is "sha256-<hex>" for a name with a digest.
  std::string manifest_rel_path() const;
  // Case-insensitive comparison of host, namespace and model, then of the
  // digests when either name has one, else of the tags. Scheme is ignored.
  bool same_as(const model_name& other) const;
};

// True for localhost, *.localhost, 127.0.0.0/8 and [::1], with or without a port.
bool is_loopback_host(std::string_view host);

}  // namespace r1::registry
