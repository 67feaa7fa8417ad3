// The CLI's commands. Each returns an r1::status; cli_app.cpp prints failures
// and turns them into exit codes.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "r1/api/client.h"
#include "r1/api/ollama.h"
#include "r1/base/status.h"
#include "r1/cli/cli.h"

namespace r1::cli {

struct session {
  cli_env env;
  api::client* client = nullptr;
  FILE* out = stdout;
  FILE* err = stderr;
};

status cmd_list(session& s, const std::string& filter);
// --verbose adds the runner's pid, port, device, memory split, requests in flight and queued.
status cmd_ps(session& s, bool verbose = false);
status cmd_show(session& s, const std::string& model, const std::string& part, bool verbose);
status cmd_rm(session& s, const std::vector<std::string>& models);
status cmd_cp(session& s, const std::string& src, const std::string& dst);
// Prints the daemon's identity public key line ("ssh-ed25519 AAAA...").
status cmd_pubkey(session& s);
status cmd_stop(session& s, const std::string& model);
status cmd_pull(session& s, const std::string& model, bool insecure);
status cmd_push(session& s, const std::string& model, bool insecure);
status cmd_create(session& s, const std::string& model, const std::string& modelfile_path, const std::string& quantize);
status cmd_export(session& s, const std::vector<std::string>& models, const std::string& path);
status cmd_import(session& s, const std::string& path);

// bench_command.cpp: `r1 bench MODEL` through the daemon's /api/bench (admin scope); with
// json_output the daemon's answer as it came.
status cmd_bench(session& s, const api::bench_request& q, bool json_output);

// service_command.cpp: `r1 info` prints which daemon the CLI talks to, whether it runs, its
// models directory, whether the system service is installed and where `r1 serve` keeps models.
status cmd_info(session& s);
// Before `r1 serve`: already_exists, with a message saying what runs there (the system service
// or another r1d) and how to start a second daemon, when an r1 daemon answers at `listen`.
status check_serve_address(const cli_env& env, const std::string& listen);
// The address `r1 serve ARGS` would have r1d listen on (--host, then R1_HOST, then the
// default), or "" when a config file may decide it or the arguments only ask for help.
std::string serve_listen_address(const cli_env& env, const std::vector<std::string>& args);
// Path of the installed r1d.service unit, or "" when there is none.
std::string installed_service_unit();

// keys_command.cpp: `r1 keys create|list|revoke` through the daemon's /api/keys (admin scope).
struct key_create_options {
  std::string scope = "inference";
  std::string expires;  // duration such as "30d"; "" never
  std::string name;
  int rate_limit = 0;   // requests per minute; 0 the scope's default
};
status cmd_keys_create(session& s, const key_create_options& o);
status cmd_keys_list(session& s);
status cmd_keys_revoke(session& s, const std::string& id);

struct run_options {
  std::string model;
  std::string prompt;             // empty: interactive (or stdin)
  std::optional<std::string> think;  // "true", "false", "low", "medium", "high"
  bool hide_thinking = false;
  bool verbose = false;
  std::string keep_alive;
  std::string format;
  bool insecure = false;
};
status cmd_run(session& s, const run_options& o);

// Streams a chat turn, printing thinking (dimmed on a terminal) and the answer.
// `messages` gets the assistant reply appended. Ctrl-C cancels the turn.
status chat_turn(session& s, const run_options& o, nlohmann::json& messages, const nlohmann::json& options,
                 bool interactive);

}  // namespace r1::cli
