// libFuzzer: model names. Anything accepted must round-trip through full()
// and must never yield a path part that escapes the store; a digest in a
// name is always a valid sha256 digest.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "r1/registry/digest.h"
#include "r1/registry/model_name.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto n = r1::registry::model_name::parse(text);
  (void)r1::registry::is_loopback_host(text);
  if (!n.ok()) return 0;
  if (!n->digest.empty() && !r1::registry::is_valid_digest(n->digest)) std::abort();
  if (n->digest.empty() && n->tag.empty()) std::abort();
  const std::string path = n->manifest_rel_path();
  if (path.find("..") != std::string::npos || path.find("//") != std::string::npos) std::abort();
  auto again = r1::registry::model_name::parse(n->full());
  if (!again.ok() || !again->same_as(*n)) std::abort();
  auto shown = r1::registry::model_name::parse(n->display());
  if (!shown.ok() || !shown->same_as(*n)) std::abort();
  return 0;
}
