#include <unistd.h>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "r1/cli/cli.h"

namespace r1::cli {

namespace {

// exec's r1d (next to r1) with the remaining arguments: `r1 serve` is the daemon in the foreground.
int serve(const cli_env& env, const std::vector<std::string>& args, FILE* err) {
  std::string listen = serve_listen_address(env, args);
  if (!listen.empty()) {
    if (status st = check_serve_address(env, listen); !st.ok()) {
      std::fprintf(err, "Error: %s\n", st.message().c_str());
      return 1;
    }
  }
  std::string exe = env.exe_dir + "/r1d";
  if (::access(exe.c_str(), X_OK) != 0) {
    std::fprintf(err, "Error: %s not found; install r1d next to r1\n", exe.c_str());
    return 1;
  }
  std::vector<std::string> all{exe};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(exe.c_str(), argv.data());
  std::fprintf(err, "Error: cannot start %s: %s\n", exe.c_str(), strerror(errno));
  return 1;
}

int report(const status& st, FILE* err) {
  if (st.ok()) return 0;
  std::fprintf(err, "Error: %s\n", st.message().c_str());
  return 1;
}

}  // namespace

int run_cli(int argc, char** argv, const cli_env& env) {
  CLI::App app{"r1: run DeepSeek-R1 and other GGUF models locally"};
  app.require_subcommand(1);
  app.set_version_flag("-v,--version", "r1 version 0.1.0");

  std::vector<std::string> serve_args;
  auto* serve_cmd = app.add_subcommand("serve", "Start the daemon (r1d) in the foreground");
  serve_cmd->alias("start");
  serve_cmd->allow_extras();
  serve_cmd->prefix_command();

  run_options ro;
  std::vector<std::string> prompt_words;
  std::string think_flag;
  auto* run = app.add_subcommand("run", "Run a model (pulls it if missing)");
  run->add_option("model", ro.model, "model name")->required();
  run->add_option("prompt", prompt_words, "prompt (omit for an interactive session)");
  run->add_flag("--think{true}", think_flag, "reasoning on/off or a level: true, false, low, medium, high");
  run->add_flag("--hidethinking", ro.hide_thinking, "do not print the reasoning");
  run->add_flag("--verbose", ro.verbose, "print timings after each answer");
  run->add_option("--keepalive", ro.keep_alive, "how long the model stays loaded (e.g. 5m, 0, -1)");
  run->add_option("--format", ro.format, "response format (json)");
  run->add_flag("--insecure", ro.insecure, "allow plain http registries when pulling");

  std::string model, dst, file = "Modelfile", quantize, part, filter, path;
  std::vector<std::string> models;
  bool insecure = false, verbose = false;
  bool show_license = false, show_modelfile = false, show_parameters = false, show_template = false, show_system = false,
       show_plan = false;
  auto* pull = app.add_subcommand("pull", "Pull a model from a registry");
  pull->add_option("model", model)->required();
  pull->add_flag("--insecure", insecure, "allow plain http");
  auto* push = app.add_subcommand("push", "Push a model to a registry");
  push->add_option("model", model)->required();
  push->add_flag("--insecure", insecure, "allow plain http");
  auto* list = app.add_subcommand("list", "List models");
  list->alias("ls");
  list->add_option("filter", filter);
  auto* ps = app.add_subcommand("ps", "List loaded models");
  bool ps_verbose = false;
  ps->add_flag("--verbose", ps_verbose, "more columns: pid, port, device, memory, requests");
  key_create_options kco;
  std::string key_id;
  auto* keys = app.add_subcommand("keys", "Manage API keys (needs an admin key or the Unix socket)");
  keys->require_subcommand(1);
  auto* keys_create = keys->add_subcommand("create", "Create a key and print it (shown once)");
  keys_create->add_option("--scope", kco.scope, "inference or admin")->check(CLI::IsMember({"inference", "admin"}));
  keys_create->add_option("--expires", kco.expires, "lifetime, e.g. 30d or 12h (default: never)");
  keys_create->add_option("--name", kco.name, "a label for listings");
  keys_create->add_option("--rate-limit", kco.rate_limit, "requests per minute (default: the scope's limit)");
  auto* keys_list = keys->add_subcommand("list", "List keys (never their secrets)");
  keys_list->alias("ls");
  auto* keys_revoke = keys->add_subcommand("revoke", "Revoke a key by id");
  keys_revoke->add_option("id", key_id)->required();
  auto* show = app.add_subcommand("show", "Show information about a model");
  show->add_option("model", model)->required();
  show->add_flag("--license", show_license);
  show->add_flag("--modelfile", show_modelfile);
  show->add_flag("--parameters", show_parameters);
  show->add_flag("--template", show_template);
  show->add_flag("--system", show_system);
  show->add_flag("--plan", show_plan, "Where the model's layers would go (GPUs, CPU) and the memory of each");
  show->add_flag("-v,--verbose", verbose);
  auto* rm = app.add_subcommand("rm", "Remove models");
  rm->add_option("models", models)->required();
  auto* cp = app.add_subcommand("cp", "Copy a model");
  cp->add_option("source", model)->required();
  cp->add_option("destination", dst)->required();
  auto* pubkey = app.add_subcommand("pubkey", "Print the public key to register at ollama.com (signed registry auth)");
  auto* stop = app.add_subcommand("stop", "Unload a running model");
  stop->add_option("model", model)->required();
  auto* create = app.add_subcommand("create", "Create a model from a Modelfile");
  create->add_option("model", model)->required();
  create->add_option("-f,--file", file, "Modelfile path (default ./Modelfile)");
  create->add_option("-q,--quantize", quantize, "quantize to q4_K_M, q4_K_S or q8_0");
  auto* exp = app.add_subcommand("export", "Write models to a bundle file (for machines without network)");
  exp->add_option("models", models)->required();
  exp->add_option("-o,--output", path, "bundle file")->required();
  auto* imp = app.add_subcommand("import", "Import models from a bundle file");
  imp->add_option("path", path)->required();
  api::bench_request bo;
  bool bench_json = false;
  auto* bench = app.add_subcommand("bench", "Measure a model's prompt (pp) and generation (tg) speed on this machine");
  bench->add_option("model", bo.model)->required();
  bench->add_option("-p,--n-prompt", bo.n_prompt, "prompt tokens (pp; 0: no prompt test)")->capture_default_str();
  bench->add_option("-n,--n-gen", bo.n_gen, "generated tokens (tg; 0: no generation test)")->capture_default_str();
  bench->add_option("-d,--n-depth", bo.n_depth, "tokens already in the context when each test starts");
  bench->add_option("-r,--repetitions", bo.repetitions, "runs of each test")->capture_default_str();
  bench->add_option("-t,--threads", bo.threads, "threads (0: the physical cores)");
  bench->add_option("--kv-type", bo.kv_type, "KV cache type: f16, f32 or q8_0")->capture_default_str();
  bench->add_flag("--bandwidth", bo.bandwidth, "also measure the memory read bandwidth (the decode roofline)");
  bench->add_flag("--json", bench_json, "print the daemon's JSON");
  auto* info = app.add_subcommand("info", "Show which daemon r1 talks to and where its models live");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (serve_cmd->parsed()) return serve(env, serve_cmd->remaining(), stderr);

  api::client_options co;
  auto ep = api::parse_endpoint(env.host.empty() ? "127.0.0.1:11434" : env.host, /*for_connect=*/true);
  if (!ep.ok()) return report(ep.error(), stderr);
  co.server = *ep;
  co.api_key = env.api_key;
  co.ca_file = env.ca_file;
  api::client client(co);
  session s{env, &client, stdout, stderr};

  if (run->parsed()) {
    for (const auto& w : prompt_words) ro.prompt += (ro.prompt.empty() ? "" : " ") + w;
    if (!think_flag.empty()) ro.think = think_flag;
    return report(cmd_run(s, ro), stderr);
  }
  if (pull->parsed()) return report(cmd_pull(s, model, insecure), stderr);
  if (push->parsed()) return report(cmd_push(s, model, insecure), stderr);
  if (list->parsed()) return report(cmd_list(s, filter), stderr);
  if (ps->parsed()) return report(cmd_ps(s, ps_verbose), stderr);
  if (keys_create->parsed()) return report(cmd_keys_create(s, kco), stderr);
  if (keys_list->parsed()) return report(cmd_keys_list(s), stderr);
  if (keys_revoke->parsed()) return report(cmd_keys_revoke(s, key_id), stderr);
  if (show->parsed()) {
    part = show_license ? "license" : show_modelfile ? "modelfile" : show_parameters ? "parameters"
         : show_template ? "template" : show_system ? "system" : show_plan ? "plan" : "";
    return report(cmd_show(s, model, part, verbose), stderr);
  }
  if (rm->parsed()) return report(cmd_rm(s, models), stderr);
  if (cp->parsed()) return report(cmd_cp(s, model, dst), stderr);
  if (pubkey->parsed()) return report(cmd_pubkey(s), stderr);
  if (stop->parsed()) return report(cmd_stop(s, model), stderr);
  if (create->parsed()) return report(cmd_create(s, model, file, quantize), stderr);
  if (exp->parsed()) return report(cmd_export(s, models, path), stderr);
  if (imp->parsed()) return report(cmd_import(s, path), stderr);
  if (info->parsed()) return report(cmd_info(s), stderr);
  if (bench->parsed()) return report(cmd_bench(s, bo, bench_json), stderr);
  return 2;
}

}  // namespace r1::cli
