// Standard base64 (RFC 4648 section 4, with padding) over OpenSSL's EVP codec,
// for the registry's auth headers and SSH key files.
#pragma once

#include <string>
#include <string_view>

#include "r1/base/status.h"

namespace r1::registry::detail {

std::string base64(std::string_view in);

// Strict decoding: padding required, no whitespace; corrupt names the first bad offset.
result<std::string> unbase64(std::string_view in);

}  // namespace r1::registry::detail
