// r1d's configuration: one options table (name, R1_* variable, default, help)
// from which --help, --print-config and docs/api.md's table are produced, and
// the typed settings the daemon runs with.
//
// Filled once at start (defaults < config file < environment < flags) and then
// passed explicitly; nothing reads the environment later. Plain data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "r1/base/config.h"
#include "r1/base/status.h"

namespace r1::daemon {

// The table, in display order.
std::vector<option_spec> daemon_option_specs();

struct daemon_settings {
  std::string host = "127.0.0.1";
  int port = 11434;
  std::string models_dir;
  // Ollama's signed registry auth: ~/.ollama/id_ed25519 (used read-only when it
  // exists), then r1's own key beside the default models directory (created on
  // first need). See r1/registry/identity_key.h.
  std::vector<std::string> identity_key_paths;
  int64_t keep_alive_ms = 5 * 60 * 1000;  // negative: forever
  int max_loaded_models = 3;
  int max_queue = 512;                    // pending requests per model, then 503
  int num_parallel = 1;
  int context_length = 4096;
  uint64_t memory_budget_bytes = 0;       // 0: 90% of physical memory
  std::string kv_cache_type = "f16";
  int threads = 0;                        // 0: the runner decides
  bool no_gpu = false;                    // runners never use a GPU
  uint64_t gpu_memory_limit = 0;          // bytes of each GPU a plan may use (test/debug; 0: all)
  bool gpu_software_devices = false;      // automatic placement may use software GPUs (lavapipe; tests)
  std::string runner_path;                // r1-runner executable
  int64_t load_timeout_ms = 5 * 60 * 1000;
  std::vector<std::string> api_key_hashes;    // sha256 of each inference key
  std::vector<std::string> admin_key_hashes;  // sha256 of each admin key
  std::vector<std::string> origins;       // extra CORS origins (wildcards allowed)
  uint64_t max_request_bytes = 32ull << 20;
  std::vector<std::string> insecure_registries;
  std::string log_level = "info";
  bool noprune = false;
  int http_threads = 64;
  std::string log_format = "text";        // text or json
  bool require_keys = false;              // auth on even before any key exists
  std::string keys_file;                  // API key store (keys.json)
  std::string tls_cert, tls_key;          // both set: HTTPS on the TCP listener
  std::string unix_socket;                // "" = no Unix socket listener
  std::vector<std::string> registries_allow;  // empty: any registry
  int rate_limit_inference = 0;           // requests per minute per key; 0 unlimited
  int rate_limit_admin = 0;

  bool auth_enabled() const { return !api_key_hashes.empty() || !admin_key_hashes.empty(); }
};

// Turns a filled config into settings, validating every value (invalid_argument
// naming the option). `exe_dir` is where r1d lives (the runner default sits next
// to it); `home`/`xdg_data_home` give the default models directory.
result<daemon_settings> settings_from_config(const config& cfg, const std::string& exe_dir, const std::string& home,
                                             const std::string& xdg_data_home);

// --print-config text: like config::describe() but API keys shown as "<set>".
std::string describe_config(const config& cfg);

// Lowercase hex sha256 of a key, as stored in the settings.
std::string hash_key(const std::string& key);

}  // namespace r1::daemon
