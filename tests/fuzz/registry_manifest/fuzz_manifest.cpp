// libFuzzer: manifest bytes (and the WWW-Authenticate parser on the same
// input). A parsed manifest has only valid digests and re-parses from its
// serialized form.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "r1/registry/auth_challenge.h"
#include "r1/registry/digest.h"
#include "r1/registry/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)r1::registry::auth_challenge::parse(bytes);
  auto m = r1::registry::manifest::parse(bytes);
  if (!m.ok()) return 0;
  for (const auto& d : m->blobs())
    if (!r1::registry::is_valid_digest(d.digest)) std::abort();
  auto again = r1::registry::manifest::parse(m->serialize());
  if (!again.ok() || again->layers.size() != m->layers.size() || again->total_size() != m->total_size()) std::abort();
  return 0;
}
