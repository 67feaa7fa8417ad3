// A float64 forward pass for the dense architectures (qwen2, llama, qwen3), written from the
// formulas in docs (RMSNorm, RoPE NORM/NEOX with frequency factors and YaRN, GQA attention
// with a causal mask, SwiGLU), reading the weights straight from the GGUF file. Slow and
// simple on purpose: it is the independent check of the engine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "r1/base/status.h"
#include "r1/base/tensor_type.h"

namespace r1::engine::testing {

struct reference_options {
  // Round each matmul input through the format the CPU kernels dot it in (Q8_0 for Q8_0
  // weights, Q8_K for K-quants, F16 for F16), K and V through the cache type, and Q through
  // the cache type's dot format, as llama.cpp's CPU backend does. Everything else stays in
  // float64, so what remains is float32 accumulation.
  bool mirror_quantization = false;
  tensor_type kv_type = tensor_type::f32;
};

// Logits (n_vocab values) for every position of `tokens`, evaluated as one causal sequence.
result<std::vector<std::vector<double>>> reference_logits(const std::string& gguf_path,
                                                          const std::vector<int32_t>& tokens,
                                                          const reference_options& o = {});

// Final normalised hidden state of every position (rows of n_embd).
result<std::vector<std::vector<double>>> reference_hidden(const std::string& gguf_path,
                                                          const std::vector<int32_t>& tokens);

}  // namespace r1::engine::testing
