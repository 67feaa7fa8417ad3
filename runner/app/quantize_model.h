// Quantizing a GGUF model file to another file type (r1-runner quantize).
//
//   quantize_request q{"in.gguf", "out.gguf", kernels::file_type::mostly_q4_k_m};
//   R1_ASSIGN_OR_RETURN(quantize_summary s, quantize_model(q, on_progress));
//
// Each tensor's type comes from kernels::choose_mix_type (llama.cpp's recipe:
// Q4_K_M keeps output and part of attn_v / ffn_down at Q6_K, 1-D tensors,
// norms and routers keep their type). Weights are read through the source's
// read-only mapping and written tensor by tensor, a few MiB of rows at a time,
// so memory use stays far below the model size: mapped source pages of a
// finished tensor are dropped again.
//
// Sources: F32, F16 or BF16 weights; Q8_0 weights are accepted with a warning
// (quality loss from quantizing twice). Any other quantized weight that the
// recipe would change is refused (invalid_argument naming the tensor). The
// output is written atomically (writer::write: temp file, fsync, rename); on
// error nothing is left at the output path. Metadata is copied, split.* keys
// are dropped (the output is one file), general.file_type and
// general.quantization_version are set.
//
// Thread safety: none needed; one call uses its own thread pool.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "r1/base/status.h"
#include "r1/base/tensor_type.h"
#include "r1/kernels/quant_mix.h"

namespace r1::runner {

struct quantize_request {
  std::string input;   // GGUF file (first shard of a split set)
  std::string output;  // written as one file
  kernels::file_type target = kernels::file_type::mostly_q4_k_m;
  int threads = 0;     // 0: physical cores
};

struct quantize_progress {
  size_t tensor = 0, n_tensors = 0;  // tensor being written (0-based) and count
  std::string_view name;
  tensor_type from = tensor_type::f32, to = tensor_type::f32;
  uint64_t completed = 0, total = 0;  // source bytes done / all source tensor bytes
};
using quantize_progress_fn = std::function<void(const quantize_progress&)>;

struct quantize_summary {
  std::string source_type;  // "F16" (general.file_type or guessed)
  std::string target_type;  // "Q4_K_M"
  uint64_t source_bytes = 0, output_bytes = 0;  // tensor data only
  std::map<std::string, int> type_counts;       // output tensor type name -> count
  std::vector<std::string> warnings;
};

// Target names Ollama accepts plus the other mixes the kernels implement:
// q4_K_M, q4_K_S, q5_K_M, q5_K_S, q6_K, q8_0, q4_0, q4_1, q5_0, q5_1, f16, bf16, f32
// (case-insensitive). invalid_argument listing them for anything else.
result<kernels::file_type> parse_quantize_type(std::string_view name);

// Checks the source and returns what would happen without writing anything:
// the summary (output_bytes computed) and the first error a real run would meet.
result<quantize_summary> plan_quantize(const quantize_request& q);

// Runs the whole quantization. `progress` (may be empty) is called from the
// calling thread after each chunk of rows.
result<quantize_summary> quantize_model(const quantize_request& q, const quantize_progress_fn& progress);

}  // namespace r1::runner
