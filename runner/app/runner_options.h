// Command-line options of r1-runner, in one table (runner_options.cpp) that --help prints.
//
//   r1-runner --model PATH [--model PATH...] [--ctx N] [--parallel N] [--threads N]
//             [--kv-type f16|f32|q8_0] [--batch N] [--n-gpu-layers N] [--main-gpu I] [--no-gpu]
//             [--backend-dir DIR] (--port N [--host H] | --socket PATH)
//   r1-runner tokenize --model FILE [--no-special] TEXT
//   r1-runner render --model FILE --messages JSON [--no-generation-prompt]
//   r1-runner bench --model FILE [-p 512] [-n 128] [--threads N] [--repetitions 3]
//   r1-runner quantize IN.gguf OUT.gguf TYPE [--threads N] [--json]
//   r1-runner --list-devices [--backend-dir DIR] [--no-gpu]
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "r1/base/status.h"
#include "r1/base/tensor_type.h"

namespace r1::runner {

struct serve_options {
  std::vector<std::string> models;
  int32_t ctx = 4096;        // per slot; 0: the model's trained length
  int parallel = 1;
  int threads = 0;           // 0: physical cores
  std::string kv_type = "f16";
  int32_t batch = 512;
  std::string host = "127.0.0.1";
  int port = -1;             // 0: any free port
  std::string socket;        // Unix socket path (not supported by this cpp-httplib)
  std::string log_level = "info";
  int n_gpu_layers = -1;          // -1: as many as fit (hardware GPUs only); 0: CPU; n: exactly n
  int main_gpu = -1;              // -1: every GPU of the first GPU backend; i: only device i
  bool no_gpu = false;            // --no-gpu / R1_NO_GPU=1: never touch a GPU library
  uint64_t gpu_memory_limit = 0;  // R1_GPU_MEMORY_LIMIT (test/debug): bytes the plan may use per GPU
  std::string backend_dir;        // --backend-dir / R1_BACKEND_DIR: GPU plugins ("": ../lib/r1/backends)
  bool cuda_graphs = false;       // --cuda-graphs / R1_CUDA_GRAPHS=1: decode steps as CUDA graphs
  std::string repack = "auto";    // --repack / R1_REPACK: AMX weight copies (auto | on | off)
  std::string repack_budget;      // --repack-budget / R1_REPACK_BUDGET: auto's limit ("": from MemAvailable)
  std::string huge_pages = "on";  // --huge-pages / R1_HUGE_PAGES: the copies' decode panels on huge pages
};

struct tokenize_options {
  std::string model;
  bool no_special = false;
  std::string text;
};

struct render_options {
  std::string model;
  std::string messages;  // JSON array of {role, content}
  bool no_generation_prompt = false;
};

struct bench_options {
  std::vector<std::string> models;  // GGUF files: one, or the shards of a split model in order
  int32_t n_prompt = 512;
  int32_t n_gen = 128;
  int32_t n_depth = 0;  // tokens already in the cache when each test starts (llama-bench -d)
  int threads = 0;
  int repetitions = 3;
  std::string kv_type = "f16";
  std::string kernel_path = "auto";  // scalar | avx2 | avx512 | amx | auto
  bool bandwidth = false;  // also measure the machine's read bandwidth (the decode roofline)
  std::string repack = "auto";  // as serve_options
  std::string repack_budget;
  std::string huge_pages = "on";
};

struct quantize_options {
  std::string input, output;
  std::string type;  // "q4_K_M", "q8_0", "f16", ...
  int threads = 0;   // 0: physical cores
  bool json = false; // progress as JSON lines on stdout
};

enum class runner_command { serve, tokenize, render, bench, quantize, list_devices, help };

struct runner_options {
  runner_command command = runner_command::serve;
  serve_options serve;
  tokenize_options tokenize;
  render_options render;
  bench_options bench;
  quantize_options quantize;
  std::string help_text;  // command == help
};

// Parses argv. invalid_argument with CLI11's message for bad flags.
result<runner_options> parse_runner_options(int argc, char** argv);
// "f16" -> tensor_type::f16; invalid_argument for other names.
result<tensor_type> parse_kv_type(const std::string& name);

}  // namespace r1::runner
