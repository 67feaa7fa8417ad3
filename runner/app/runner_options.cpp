#include "runner_options.h"

#include <CLI/CLI.hpp>

namespace r1::runner {

result<tensor_type> parse_kv_type(const std::string& name) {
  if (name == "f16") return tensor_type::f16;
  if (name == "f32") return tensor_type::f32;
  if (name == "q8_0") return tensor_type::q8_0;
  return invalid_argument("kv cache type '" + name + "' is not one of f16, f32, q8_0");
}

namespace {

// --repack / --repack-budget, shared by serve and bench.
void add_repack_options(CLI::App& app, std::string& mode, std::string& budget, std::string& huge_pages) {
  app.add_option("--repack", mode,
                 "on the amx kernel path, keep copies of the weights laid out for the AMX kernels: decode panels "
                 "for Q8_0, Q4_K and Q6_K (about the file's size; Q8_0's replace the originals in memory), which "
                 "decode streams, and tile panels for the other types (~2.1 bytes per weight), which prompts read "
                 "instead of unpacking: auto (while the copies fit --repack-budget), on, off")
      ->envname("R1_REPACK");
  app.add_option("--repack-budget", budget,
                 "bytes the AMX copies may take with --repack auto (e.g. 4GiB; default: half of MemAvailable "
                 "less the model's size)")
      ->envname("R1_REPACK_BUDGET");
  app.add_option("--huge-pages", huge_pages,
                 "put the copies' decode panels and the KV cache on transparent huge pages where the system "
                 "has them: on (default; faster decode, and on VMs that return free memory to their host about "
                 "1 s more load per GiB of panels; the cache commits up to 2 MiB per head ahead of its "
                 "positions) or off")
      ->envname("R1_HUGE_PAGES");
}

void add_serve_options(CLI::App& app, serve_options& s, bool& list_devices) {
  app.add_option("--model,-m", s.models, "GGUF file(s) of the model; repeat for each shard")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--ctx,-c", s.ctx, "context length per slot (0: the model's trained length)");
  app.add_option("--parallel,--np", s.parallel, "parallel slots");
  app.add_option("--threads,-t", s.threads, "compute threads (0: physical cores)");
  app.add_option("--kv-type", s.kv_type, "KV cache type: f16, f32 or q8_0");
  app.add_option("--batch,-b", s.batch, "tokens per forward pass while reading a prompt");
  app.add_option("--host", s.host, "address to listen on (loopback)");
  app.add_option("--port", s.port, "port to listen on; 0 picks a free one and prints 'listening on HOST:PORT'");
  app.add_option("--socket", s.socket, "Unix socket path (not supported by this build; use --port)");
  app.add_option("--log-level", s.log_level, "debug, info, warn, error");
  app.add_flag("--list-devices", list_devices, "print the compute devices as JSON and exit");
  app.add_option("--n-gpu-layers,--ngl", s.n_gpu_layers,
                 "layers to offload to GPUs: -1 as many as fit (hardware GPUs), 0 none, N exactly N (refused "
                 "when they do not fit)");
  app.add_option("--main-gpu", s.main_gpu, "use only this GPU (index in --list-devices); -1: all");
  app.add_flag("--no-gpu", s.no_gpu, "never use a GPU")->envname("R1_NO_GPU");
  app.add_option("--gpu-memory-limit", s.gpu_memory_limit,
                 "bytes of each GPU the memory plan may use (test/debug knob; 0: what the device reports)")
      ->envname("R1_GPU_MEMORY_LIMIT");
  app.add_option("--backend-dir", s.backend_dir,
                 "directory of the GPU backend plugins (libr1-backend-*.so; default: ../lib/r1/backends next to "
                 "this executable)")
      ->envname("R1_BACKEND_DIR");
  app.add_flag("--cuda-graphs", s.cuda_graphs, "launch each decode step on CUDA as one CUDA graph")
      ->envname("R1_CUDA_GRAPHS");
  add_repack_options(app, s.repack, s.repack_budget, s.huge_pages);
}

}  // namespace

result<runner_options> parse_runner_options(int argc, char** argv) {
  runner_options o;
  CLI::App app{"r1-runner: serves one model over HTTP for r1d"};
  app.require_subcommand(0, 1);
  bool list_devices = false;
  add_serve_options(app, o.serve, list_devices);

  CLI::App* tok = app.add_subcommand("tokenize", "print the token ids of TEXT as JSON");
  tok->add_option("--model,-m", o.tokenize.model, "GGUF file")->required();
  tok->add_flag("--no-special", o.tokenize.no_special, "do not add BOS nor parse special-token text");
  tok->add_option("text", o.tokenize.text, "text to tokenize")->required();

  CLI::App* ren = app.add_subcommand("render", "print the chat template's rendering of MESSAGES as JSON");
  ren->add_option("--model,-m", o.render.model, "GGUF file")->required();
  ren->add_option("--messages", o.render.messages, "JSON array of {role, content}")->required();
  ren->add_flag("--no-generation-prompt", o.render.no_generation_prompt, "do not open the assistant turn");

  CLI::App* bench = app.add_subcommand("bench", "measure prompt (pp) and generation (tg) speed");
  bench->add_option("--model,-m", o.bench.models, "GGUF file (repeated for each shard of a split model)")->required();
  bench->add_option("-p,--n-prompt", o.bench.n_prompt, "prompt tokens (pp)");
  bench->add_option("-n,--n-gen", o.bench.n_gen, "generated tokens (tg)");
  bench->add_option("-d,--n-depth", o.bench.n_depth,
                    "tokens already in the cache when each test starts (a long conversation), untimed")
      ->check(CLI::NonNegativeNumber);
  bench->add_option("--threads,-t", o.bench.threads, "compute threads (0: physical cores)");
  bench->add_option("-r,--repetitions", o.bench.repetitions, "runs of each test");
  bench->add_option("--kv-type", o.bench.kv_type, "KV cache type: f16, f32 or q8_0");
  bench->add_option("--kernel-path", o.bench.kernel_path, "CPU kernel path: auto, amx, avx512, avx2 or scalar");
  bench->add_flag("--bandwidth", o.bench.bandwidth, "also measure the memory read bandwidth (decode roofline)");
  add_repack_options(*bench, o.bench.repack, o.bench.repack_budget, o.bench.huge_pages);

  CLI::App* quant = app.add_subcommand("quantize", "write a quantized copy of a GGUF model (F32/F16/BF16 source)");
  quant->add_option("input", o.quantize.input, "source GGUF file")->required();
  quant->add_option("output", o.quantize.output, "GGUF file to write")->required();
  quant->add_option("type", o.quantize.type, "q4_K_M, q4_K_S, q5_K_M, q6_K, q8_0, q4_0, f16, ...")->required();
  quant->add_option("--threads,-t", o.quantize.threads, "compute threads (0: physical cores)");
  quant->add_flag("--json", o.quantize.json, "progress as JSON lines on stdout");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    o.command = runner_command::help;
    o.help_text = app.help();
    return o;
  } catch (const CLI::ParseError& e) {
    return invalid_argument(e.what());
  }
  if (tok->parsed()) {
    o.command = runner_command::tokenize;
  } else if (ren->parsed()) {
    o.command = runner_command::render;
  } else if (bench->parsed()) {
    o.command = runner_command::bench;
  } else if (quant->parsed()) {
    o.command = runner_command::quantize;
  } else if (list_devices) {
    o.command = runner_command::list_devices;
  } else {
    o.command = runner_command::serve;
    if (o.serve.models.empty()) return invalid_argument("--model is required");
    if (o.serve.port < 0 && o.serve.socket.empty()) return invalid_argument("give --port N or --socket PATH");
    if (o.serve.parallel < 1) return invalid_argument("--parallel must be at least 1");
    if (o.serve.ctx < 0) return invalid_argument("--ctx must not be negative");
    if (o.serve.batch < 1) return invalid_argument("--batch must be at least 1");
    if (o.serve.n_gpu_layers < -1) return invalid_argument("--n-gpu-layers must be -1 or more");
  }
  return o;
}

}  // namespace r1::runner
