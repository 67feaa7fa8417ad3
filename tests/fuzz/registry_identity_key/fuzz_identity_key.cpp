// libFuzzer: OpenSSH private key files. Anything accepted must write back to a
// file that parses to the same key, and must sign.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "r1/registry/identity_key.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto k = r1::registry::identity_key::parse_openssh(text);
  if (!k.ok()) return 0;
  auto again = r1::registry::identity_key::parse_openssh(k->to_openssh("fuzz"));
  if (!again.ok() || again->public_key_line() != k->public_key_line()) std::abort();
  auto sig = k->sign(text);
  if (!sig.ok() || sig->size() != 64) std::abort();
  return 0;
}
