// The r1-runner commands: serve (the HTTP server for r1d) and the debug entry points
// (tokenize, render, bench, list-devices). Each returns the process exit code; results go to
// stdout as JSON, logs to stderr.
#pragma once

#include "r1/engine/model.h"
#include "runner_options.h"

namespace r1::runner {

int run_serve(const serve_options& o);
int run_tokenize(const tokenize_options& o);
int run_render(const render_options& o);
int run_bench(const bench_options& o);
// The CPU and the devices of the GPU backend plugins of o.backend_dir, with a report per plugin;
// o.no_gpu (--no-gpu, R1_NO_GPU): the CPU only, without loading any plugin.
int run_list_devices(const serve_options& o);

// --repack / --repack-budget / --huge-pages as engine options; invalid_argument for a
// bad mode, size or page choice.
result<engine::repack_options> make_repack_options(const std::string& mode, const std::string& budget,
                                                   const std::string& huge_pages, int threads);

}  // namespace r1::runner
