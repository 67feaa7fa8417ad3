// API keys managed at run time (r1 keys create|list|revoke, /api/keys).
//
// A key reads "r1_<id>_<secret>": <id> is 16 hex digits that name the key in
// listings and logs, <secret> 64 hex digits from 32 bytes of RAND_bytes. Only
// the SHA-256 of the whole key is stored: the secret has 256 bits of entropy,
// so a slow password hash (PBKDF2, scrypt) would add cost to every request and
// no protection. A presented key is looked up by its id and its hash compared
// with CRYPTO_memcmp (constant time).
//
// The store is one JSON file (keys.json in the daemon's data directory)
// rewritten atomically with mode 0600 on every change; revoked keys stay in it
// (revoked_at) so listings show them.
//
// Thread safety: api_key_store is safe to use from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "r1/base/status.h"
#include "r1/daemon/daemon_config.h"
#include "r1/daemon/security.h"

namespace r1::daemon {

enum class key_scope { inference, admin };
const char* scope_name(key_scope s);
// "inference" or "admin"; invalid_argument otherwise.
result<key_scope> parse_scope(std::string_view text);

struct api_key_record {
  std::string id;               // 16 lowercase hex digits
  std::string name;             // free text, may be empty
  key_scope scope = key_scope::inference;
  std::string hash;             // lowercase hex SHA-256 of the whole key
  int64_t created_unix = 0;
  int64_t expires_unix = 0;     // 0: never
  int64_t revoked_unix = 0;     // 0: active
  int rate_limit = 0;           // requests per minute; 0: the scope's default
};

// The file format. parse_key_file is bounds-checked (corrupt naming the entry
// and field); serialize_key_file(parse_key_file(x)) round-trips.
result<std::vector<api_key_record>> parse_key_file(std::string_view text);
std::string serialize_key_file(const std::vector<api_key_record>& keys);

// The id part of a presented "r1_<id>_<secret>" key; "" when it has another shape.
std::string key_id_of(std::string_view presented);

class api_key_store {
 public:
  // Reads `path` if it exists (corrupt / io_error otherwise); a missing file is an empty store.
  static result<std::unique_ptr<api_key_store>> open(std::string path);

  struct created {
    api_key_record record;
    std::string key;  // the full key, shown once
  };
  // Makes a new key and saves the file. name <= 128 bytes, rate_limit >= 0.
  result<created> create(key_scope scope, std::string name, int64_t expires_unix, int rate_limit, int64_t now);
  // Marks a key revoked and saves; not_found for an unknown id.
  status revoke(const std::string& id, int64_t now);
  std::vector<api_key_record> list() const;
  // True when some key is neither revoked nor expired.
  bool has_active_keys(int64_t now) const;

  enum class verdict { unknown, valid, expired, revoked };
  struct check {
    verdict v = verdict::unknown;
    api_key_record record;
  };
  check verify(std::string_view presented, int64_t now) const;

  const std::string& path() const { return path_; }

 private:
  explicit api_key_store(std::string path) : path_(std::move(path)) {}
  status save(const std::vector<api_key_record>& keys) const;
  std::string path_;
  mutable std::mutex mu_;
  std::vector<api_key_record> keys_;
};

// Who a request is, from its credentials: the static keys of the settings
// (api_keys / admin_keys) and the store's keys.
struct auth_decision {
  access level = access::none;
  std::string key_id;       // "" without a key; "config:<8 hex>" for static keys
  int rate_limit = 0;       // the key's own requests per minute (0: scope default)
  std::string reason;       // why access is none: "missing", "invalid", "expired", "revoked"
};
// `trusted_local` (the Unix socket) is admin without a key. Authentication is
// on when settings.require_keys is set, static keys are configured, or the
// store holds an active key; otherwise everything is admin.
auth_decision authenticate(const daemon_settings& s, const api_key_store* store, std::string_view authorization,
                           std::string_view x_api_key, bool trusted_local, int64_t now);

}  // namespace r1::daemon
