#include "r1/daemon/daemon_config.h"

#include <unistd.h>

#include <sstream>

#include "r1/api/client.h"
#include "r1/base/log.h"
#include "r1/base/paths.h"
#include "r1/registry/digest.h"

namespace r1::daemon {

std::vector<option_spec> daemon_option_specs() {
  return {
      {"host", "R1_HOST", "127.0.0.1:11434", "address and port to listen on; a non-loopback address needs api_keys"},
      {"models", "R1_MODELS", "", "model store directory (default $XDG_DATA_HOME/r1/models or ~/.local/share/r1/models)"},
      {"keep_alive", "R1_KEEP_ALIVE", "5m", "how long an idle model stays loaded (negative: forever, 0: unload at once)"},
      {"max_loaded_models", "R1_MAX_LOADED_MODELS", "3", "most models loaded at the same time"},
      {"max_queue", "R1_MAX_QUEUE", "512", "pending requests per model before 503 with Retry-After"},
      {"num_parallel", "R1_NUM_PARALLEL", "1", "parallel requests per loaded model (KV cache = context x parallel)"},
      {"context_length", "R1_CONTEXT_LENGTH", "4096", "default context window per request (num_ctx)"},
      {"memory_budget", "R1_MEMORY_BUDGET", "0", "memory for loaded models, e.g. 24GiB (0: 90% of physical memory)"},
      {"kv_cache_type", "R1_KV_CACHE_TYPE", "f16", "KV cache element type: f16, f32 or q8_0"},
      {"threads", "R1_THREADS", "0", "compute threads per runner (0: the runner decides)"},
      {"no_gpu", "R1_NO_GPU", "false", "never offload layers to a GPU"},
      {"gpu_memory_limit", "R1_GPU_MEMORY_LIMIT", "0",
       "bytes of each GPU a runner's memory plan may use, e.g. 2GiB (test/debug knob; 0: what the device reports)"},
      {"gpu_software_devices", "R1_GPU_SOFTWARE_DEVICES", "false",
       "place layers automatically on software GPU devices such as Mesa's lavapipe too (test knob; slower than the CPU)"},
      {"runner", "R1_RUNNER", "", "path of the r1-runner executable (default: next to r1d)"},
      {"load_timeout", "R1_LOAD_TIMEOUT", "5m", "give up on a model load that is not ready after this long"},
      {"api_keys", "R1_API_KEYS", "", "comma-separated inference API keys (Authorization: Bearer)"},
      {"admin_keys", "R1_ADMIN_KEYS", "", "comma-separated admin keys: pull, push, create, copy, delete"},
      {"origins", "R1_ORIGINS", "", "extra CORS origins, comma-separated, * wildcards allowed"},
      {"max_request_body", "R1_MAX_REQUEST_BODY", "32MiB", "largest JSON request body accepted"},
      {"insecure_registries", "R1_INSECURE_REGISTRIES", "", "registry hosts reachable over plain http (loopback always is)"},
      {"log_level", "R1_LOG_LEVEL", "info", "debug, info, warn or error"},
      {"noprune", "R1_NOPRUNE", "false", "do not prune unreferenced blobs at start"},
      {"http_threads", "R1_HTTP_THREADS", "64", "HTTP worker threads (bounds concurrent connections)"},
      {"log_format", "R1_LOG_FORMAT", "text", "log lines as text or json (one object per line, with request_id)"},
      {"require_keys", "R1_REQUIRE_KEYS", "false", "refuse requests without an API key even before any key exists"},
      {"keys_file", "R1_KEYS_FILE", "", "API key store (default keys.json next to the models directory)"},
      {"tls.cert", "R1_TLS_CERT", "", "PEM certificate chain: serve HTTPS on the TCP listener (with tls.key)"},
      {"tls.key", "R1_TLS_KEY", "", "PEM private key of tls.cert"},
      {"unix_socket", "R1_UNIX_SOCKET", "", "also listen on this Unix socket (mode 0660; trusted as local admin)"},
      {"registries.allow", "R1_REGISTRIES_ALLOW", "", "registry hosts pulls and pushes may use, e.g. [\"registry.ollama.ai\", \"mirror:5000\"] (empty: any)"},
      {"rate_limit.inference", "R1_RATE_LIMIT_INFERENCE", "0", "requests per minute per inference key (0: unlimited)"},
      {"rate_limit.admin", "R1_RATE_LIMIT_ADMIN", "0", "requests per minute per admin key (0: unlimited)"},
  };
}

std::string hash_key(const std::string& key) {
  std::string d = registry::sha256_of(key);
  return d.substr(7);
}

namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    std::string t(trim(item));
    if (!t.empty()) out.push_back(t);
  }
  return out;
}

status bad(const std::string& name, const std::string& why) {
  return invalid_argument("option " + name + ": " + why);
}

result<int> int_in(const config& cfg, const std::string& name, int lo, int hi) {
  auto v = cfg.get_int(name);
  if (!v.ok() || *v < lo || *v > hi)
    return bad(name, "'" + cfg.get(name) + "' must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  return static_cast<int>(*v);
}

// `a, b` or `["a", "b"]` (the config file's list form).
result<std::vector<std::string>> parse_list(const std::string& name, const std::string& text) {
  std::string t(trim(text));
  if (t.empty() || t.front() != '[') return split_list(t);
  if (t.back() != ']') return bad(name, "list is missing its closing ]");
  std::vector<std::string> out;
  for (const auto& item : split_list(t.substr(1, t.size() - 2))) {
    std::string v = item;
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    if (v.empty() || v.find_first_of("\" []") != std::string::npos) return bad(name, "bad list item " + item);
    out.push_back(v);
  }
  return out;
}

// Options of r1d as a service: logs, keys, TLS, the Unix socket, registries, rate limits.
status service_settings(const config& cfg, daemon_settings* s) {
  s->log_format = cfg.get("log_format");
  if (s->log_format != "text" && s->log_format != "json") return bad("log_format", "must be text or json");
  auto rk = cfg.get_bool("require_keys");
  if (!rk.ok()) return bad("require_keys", "must be true or false");
  s->require_keys = *rk;
  s->keys_file = cfg.get("keys_file");
  if (s->keys_file.empty()) {
    std::string dir = s->models_dir;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    auto slash = dir.rfind('/');
    s->keys_file = (slash == std::string::npos ? std::string(".") : dir.substr(0, slash == 0 ? 1 : slash)) + "/keys.json";
  }
  s->tls_cert = cfg.get("tls.cert");
  s->tls_key = cfg.get("tls.key");
  if (s->tls_cert.empty() != s->tls_key.empty()) return bad("tls.cert", "tls.cert and tls.key go together");
  s->unix_socket = cfg.get("unix_socket");
  R1_ASSIGN_OR_RETURN(s->registries_allow, parse_list("registries.allow", cfg.get("registries.allow")));
  R1_ASSIGN_OR_RETURN(s->rate_limit_inference, int_in(cfg, "rate_limit.inference", 0, 1000000));
  R1_ASSIGN_OR_RETURN(s->rate_limit_admin, int_in(cfg, "rate_limit.admin", 0, 1000000));
  return {};
}

}  // namespace

result<daemon_settings> settings_from_config(const config& cfg, const std::string& exe_dir, const std::string& home,
                                             const std::string& xdg_data_home) {
  daemon_settings s;
  auto ep = api::parse_endpoint(cfg.get("host"), /*for_connect=*/false);
  if (!ep.ok()) return bad("host", ep.error().message());
  if (ep->scheme != "http")
    return bad("host", "must be an address and port; use tls.cert/tls.key for HTTPS and unix_socket for a Unix socket");
  s.host = ep->host;
  s.port = ep->port;
  s.models_dir = cfg.get("models");
  if (s.models_dir.empty()) s.models_dir = default_models_dir(xdg_data_home, home);
  if (!home.empty()) s.identity_key_paths.push_back(home + "/.ollama/id_ed25519");
  if (const std::string data = default_models_dir(xdg_data_home, home); data.rfind('/') != std::string::npos)
    s.identity_key_paths.push_back(data.substr(0, data.rfind('/')) + "/id_ed25519");
  auto ka = parse_duration_ms(cfg.get("keep_alive"));
  if (!ka.ok()) return bad("keep_alive", "'" + cfg.get("keep_alive") + "' is not a duration like 5m");
  s.keep_alive_ms = *ka < 0 ? -1 : *ka;
  R1_ASSIGN_OR_RETURN(s.max_loaded_models, int_in(cfg, "max_loaded_models", 1, 64));
  R1_ASSIGN_OR_RETURN(s.max_queue, int_in(cfg, "max_queue", 1, 1 << 20));
  R1_ASSIGN_OR_RETURN(s.num_parallel, int_in(cfg, "num_parallel", 1, 256));
  R1_ASSIGN_OR_RETURN(s.context_length, int_in(cfg, "context_length", 16, 1 << 24));
  auto mb = parse_byte_size(cfg.get("memory_budget"));
  if (!mb.ok()) return bad("memory_budget", "'" + cfg.get("memory_budget") + "' is not a size like 24GiB");
  s.memory_budget_bytes = *mb;
  if (s.memory_budget_bytes == 0) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    s.memory_budget_bytes = pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) / 10 * 9
                                                  : (8ull << 30);
  }
  s.kv_cache_type = cfg.get("kv_cache_type");
  if (s.kv_cache_type != "f16" && s.kv_cache_type != "f32" && s.kv_cache_type != "q8_0")
    return bad("kv_cache_type", "must be f16, f32 or q8_0");
  R1_ASSIGN_OR_RETURN(s.threads, int_in(cfg, "threads", 0, 1024));
  s.runner_path = cfg.get("runner");
  if (s.runner_path.empty()) s.runner_path = exe_dir + "/r1-runner";
  auto lt = parse_duration_ms(cfg.get("load_timeout"));
  if (!lt.ok() || *lt <= 0) return bad("load_timeout", "must be a positive duration");
  s.load_timeout_ms = *lt;
  for (const auto& k : split_list(cfg.get("api_keys"))) s.api_key_hashes.push_back(hash_key(k));
  for (const auto& k : split_list(cfg.get("admin_keys"))) s.admin_key_hashes.push_back(hash_key(k));
  s.origins = split_list(cfg.get("origins"));
  auto body = parse_byte_size(cfg.get("max_request_body"));
  if (!body.ok() || *body < 1024) return bad("max_request_body", "must be a size of at least 1KiB");
  s.max_request_bytes = *body;
  s.insecure_registries = split_list(cfg.get("insecure_registries"));
  s.log_level = cfg.get("log_level");
  r1::log_level lvl;
  if (!parse_log_level(s.log_level, &lvl)) return bad("log_level", "must be debug, info, warn or error");
  auto np = cfg.get_bool("noprune");
  if (!np.ok()) return bad("noprune", "must be true or false");
  s.noprune = *np;
  auto ng = cfg.get_bool("no_gpu");
  if (!ng.ok()) return bad("no_gpu", "must be true or false");
  s.no_gpu = *ng;
  auto gl = parse_byte_size(cfg.get("gpu_memory_limit"));
  if (!gl.ok()) return bad("gpu_memory_limit", "'" + cfg.get("gpu_memory_limit") + "' is not a size like 2GiB");
  s.gpu_memory_limit = *gl;
  auto sw = cfg.get_bool("gpu_software_devices");
  if (!sw.ok()) return bad("gpu_software_devices", "must be true or false");
  s.gpu_software_devices = *sw;
  R1_ASSIGN_OR_RETURN(s.http_threads, int_in(cfg, "http_threads", 4, 4096));
  R1_RETURN_IF_ERROR(service_settings(cfg, &s));
  return s;
}

std::string describe_config(const config& cfg) {
  std::string out;
  static const char* sources[] = {"default", "file", "env", "flag"};
  for (const auto& spec : cfg.specs()) {
    std::string v = cfg.get(spec.name);
    if ((spec.name == "api_keys" || spec.name == "admin_keys") && !v.empty()) v = "<set>";
    out += spec.name + " = \"" + v + "\"  # " + sources[static_cast<int>(cfg.source(spec.name))];
    if (!spec.env.empty()) out += " (" + spec.env + ")";
    out += '\n';
  }
  return out;
}

}  // namespace r1::daemon
