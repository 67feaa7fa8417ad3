// `r1 info` (which daemon the CLI talks to and where models live) and the check
// that keeps `r1 serve` from starting a second daemon on an address already served.
#include <unistd.h>

#include "commands.h"
#include "r1/base/paths.h"

namespace r1::cli {

using json = nlohmann::json;

namespace {

// The Debian package's layout (packaging/): unit, conffile and the service's model store.
constexpr const char* k_unit_name = "r1d.service";
constexpr const char* k_service_config = "/etc/r1/config.toml";
constexpr const char* k_service_models = "/var/lib/r1/models";
constexpr const char* k_unit_dirs[] = {"/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"};

// What answers at an address: nothing, something that is not r1, or r1 (with its models dir when it told us).
struct daemon_probe {
  bool reachable = false;
  bool is_r1 = false;
  std::string version;
  std::string models_dir;  // empty when /api/info needed a key we do not have
  std::string info_error;
};

// A string member of a reply, or "" (json::value would throw on another type).
std::string string_field(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

daemon_probe probe_daemon(api::client& c) {
  daemon_probe p;
  auto v = c.get("/api/version");
  if (!v.ok()) {
    p.reachable = v.error().code() != error_code::unavailable;
    return p;
  }
  p.reachable = true;
  p.version = string_field(*v, "version");
  p.is_r1 = !p.version.empty();
  auto info = c.get("/api/info");
  if (info.ok()) p.models_dir = string_field(*info, "models_dir");
  else p.info_error = info.error().message();
  return p;
}

// "127.0.0.1:11434" as R1_HOST takes it; https and unix:// endpoints in full.
std::string endpoint_text(const api::endpoint& ep) {
  if (ep.scheme != "http") return ep.to_string();
  bool v6 = ep.host.find(':') != std::string::npos;
  return (v6 ? "[" + ep.host + "]" : ep.host) + ":" + std::to_string(ep.port);
}

}  // namespace

std::string installed_service_unit() {
  for (const char* dir : k_unit_dirs) {
    std::string path = std::string(dir) + "/" + k_unit_name;
    if (::access(path.c_str(), F_OK) == 0) return path;
  }
  return "";
}

status cmd_info(session& s) {
  const api::endpoint& ep = s.client->server();
  daemon_probe p = probe_daemon(*s.client);
  std::string source = s.env.host.empty() ? "the default; R1_HOST changes it" : "from R1_HOST";
  std::fprintf(s.out, "daemon:          %s (%s)\n", endpoint_text(ep).c_str(), source.c_str());
  if (!p.reachable) {
    std::fprintf(s.out, "                 not running\n");
  } else if (!p.is_r1) {
    std::fprintf(s.out, "                 something answers there, but it is not an r1 daemon\n");
  } else {
    std::fprintf(s.out, "                 running, version %s\n", p.version.c_str());
    if (!p.models_dir.empty())
      std::fprintf(s.out, "models:          %s (this daemon's store)\n", p.models_dir.c_str());
    else
      std::fprintf(s.out, "models:          unknown (%s)\n", p.info_error.c_str());
  }
  std::string unit = installed_service_unit();
  if (!unit.empty()) {
    std::fprintf(s.out, "system service:  %s installed (%s)\n", k_unit_name, unit.c_str());
    std::fprintf(s.out, "                 config %s, models in %s, runs as user r1\n", k_service_config,
                 k_service_models);
  } else {
    std::fprintf(s.out, "system service:  not installed\n");
  }
  std::string user_models = s.env.models.empty() ? default_models_dir(s.env.xdg_data_home, s.env.home) : s.env.models;
  std::fprintf(s.out, "user daemon:     `r1 serve` keeps models in %s%s\n", user_models.c_str(),
               s.env.models.empty() ? "" : " (from R1_MODELS)");
  return {};
}

std::string serve_listen_address(const cli_env& env, const std::vector<std::string>& args) {
  std::string host;
  bool config = !env.r1d_config.empty();
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help" || a == "--print-config" || a == "--options-markdown") return "";
    if (a == "--host" && i + 1 < args.size()) host = args[++i];
    else if (a.rfind("--host=", 0) == 0) host = a.substr(7);
    else if (a == "--config" || a.rfind("--config=", 0) == 0) config = true;
  }
  // r1d's precedence: flag, then environment, then config file, then the default.
  if (!host.empty()) return host;
  if (!env.host.empty()) return env.host;
  return config ? "" : "127.0.0.1:11434";
}

status check_serve_address(const cli_env& env, const std::string& listen) {
  auto ep = api::parse_endpoint(listen, /*for_connect=*/true);
  // r1d listens on plain host:port only and reports anything else itself.
  if (!ep.ok() || ep->scheme != "http") return {};
  api::client_options o;
  o.server = *ep;
  o.api_key = env.api_key;
  o.connect_timeout_s = 2;
  o.read_timeout_s = 5;
  api::client c(o);
  daemon_probe p = probe_daemon(c);
  if (!p.reachable || !p.is_r1) return {};  // free, or taken by something else: r1d's bind error says so
  std::string where = endpoint_text(*ep);
  std::string models = p.models_dir.empty() ? "" : " and keeps its models in " + p.models_dir;
  api::endpoint other = *ep;
  other.port = ep->port < 65535 ? ep->port + 1 : ep->port - 1;
  std::string alt = "To run a daemon of your own as well, give it another address, e.g.\n"
                    "  R1_HOST=" + endpoint_text(other) + " r1 serve\n"
                    "and use the same R1_HOST for the commands that should talk to it.";
  bool service = !installed_service_unit().empty() && (p.models_dir.empty() || p.models_dir == k_service_models);
  if (service)
    return already_exists("the r1 system service (" + std::string(k_unit_name) + ") is already running on " + where +
                          models + ".\nThe r1 commands use it as they are (try `r1 list`; `r1 info` shows more).\n" +
                          alt);
  return already_exists("an r1 daemon is already running on " + where + models +
                        ".\nStop it first, or use it as it is (`r1 info` shows more).\n" + alt);
}

}  // namespace r1::cli
