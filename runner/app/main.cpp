// r1-runner: one process per loaded model, spawned by r1d (see docs/dev/runner-protocol.md).
#include <cstdio>

#include "commands.h"
#include "quantize_command.h"
#include "r1/base/log.h"

int main(int argc, char** argv) {
  auto opts = r1::runner::parse_runner_options(argc, argv);
  if (!opts.ok()) {
    std::fprintf(stderr, "r1-runner: %s\n", opts.error().message().c_str());
    return 2;
  }
  using r1::runner::runner_command;
  switch (opts->command) {
    case runner_command::help:
      std::fputs(opts->help_text.c_str(), stdout);
      return 0;
    case runner_command::tokenize: return r1::runner::run_tokenize(opts->tokenize);
    case runner_command::render: return r1::runner::run_render(opts->render);
    case runner_command::bench: return r1::runner::run_bench(opts->bench);
    case runner_command::quantize: return r1::runner::run_quantize(opts->quantize);
    case runner_command::list_devices: return r1::runner::run_list_devices(opts->serve);
    case runner_command::serve: break;
  }
  r1::log_level level;
  if (r1::parse_log_level(opts->serve.log_level, &level)) r1::set_log_level(level);
  return r1::runner::run_serve(opts->serve);
}
