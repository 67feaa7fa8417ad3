#include "base64.h"

#include <openssl/evp.h>

namespace r1::registry::detail {

namespace {

bool is_b64(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

}  // namespace

std::string base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

result<std::string> unbase64(std::string_view in) {
  if (in.size() % 4 != 0) return corrupt("base64 body length " + std::to_string(in.size()) + " is not a multiple of 4");
  size_t pad = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '=' && i + 2 >= in.size() && (i + 1 == in.size() || in[i + 1] == '=')) {
      ++pad;
    } else if (!is_b64(c) || pad > 0) {
      return corrupt("invalid base64 character at offset " + std::to_string(i));
    }
  }
  std::string out(in.size() / 4 * 3, '\0');
  if (in.empty()) return out;
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0 || static_cast<size_t>(n) != out.size()) return corrupt("invalid base64");
  out.resize(out.size() - pad);
  return out;
}

}  // namespace r1::registry::detail
