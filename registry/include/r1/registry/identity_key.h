// The ed25519 identity key used for Ollama's signed registry auth
// (registry.ollama.ai / ollama.com; the public key is registered by the user
// at ollama.com to pull private models and push).
//
// Keys are stored in OpenSSH's private key format ("openssh-key-v1", the
// format of `ssh-keygen -t ed25519` and of Ollama's ~/.ollama/id_ed25519), so
// `ssh-keygen -y -f <file>` prints the same public key. Only unencrypted keys
// are read; an encrypted one is refused with a clear error.
//
// Plain value type (the 32-byte seed and public key); thread-compatible. The
// seed is wiped when the object is destroyed.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "r1/base/status.h"

namespace r1::registry {

class identity_key {
 public:
  identity_key() = default;
  ~identity_key();
  identity_key(const identity_key&) = default;
  identity_key& operator=(const identity_key&) = default;

  // A fresh random key (OpenSSL), or internal on failure.
  static result<identity_key> generate();
  // Parses the text of an OpenSSH private key file (PEM-style armour around
  // base64 of "openssh-key-v1"). Every length is bounds-checked; corrupt says
  // what is wrong, invalid_argument for keys that are encrypted or not ed25519.
  static result<identity_key> parse_openssh(std::string_view text);
  // Reads and parses one file (not_found when it does not exist).
  static result<identity_key> load(const std::string& path);
  // The key at the first of `paths` that exists (read-only); when none exists,
  // a new key written to the last path (0600, parent made 0700 if missing;
  // never overwrites a file another process created meanwhile).
  // invalid_argument when `paths` is empty.
  static result<identity_key> load_or_create(const std::vector<std::string>& paths);

  // The private key file text (OpenSSH format, unencrypted).
  std::string to_openssh(std::string_view comment = "r1") const;
  // The public key blob in SSH wire format, base64: what follows "ssh-ed25519 ".
  std::string public_key_base64() const;
  // "ssh-ed25519 <base64>" (the line to register at ollama.com).
  std::string public_key_line() const { return "ssh-ed25519 " + public_key_base64(); }
  // Raw 64-byte ed25519 signature of `data` (OpenSSL EVP_DigestSign).
  result<std::string> sign(std::string_view data) const;

  const std::array<uint8_t, 32>& public_key() const { return public_; }

 private:
  std::array<uint8_t, 32> seed_{};
  std::array<uint8_t, 32> public_{};
};

}  // namespace r1::registry
