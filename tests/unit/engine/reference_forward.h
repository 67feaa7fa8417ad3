// A float64 forward pass for the dense architectures (qwen2, llama, qwen3), written from the
// formulas in docs (RMSNorm, RoPE NORM/NEOX with frequency factors and YaRN, GQA attention
// with a causal mask, SwiGLU), reading the weights straight from the GGUF file. Slow and
// simple on purpose: it is the independent check of the engine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "r1/base/status.h"

namespace r1::engine::testing {

// Logits (n_vocab values) for every position of `tokens`, evaluated as one causal sequence.
result<std::vector<std::vector<double>>> reference_logits(const std::string& gguf_path,
                                                          const std::vector<int32_t>& tokens);

// Final normalised hidden state of every position (rows of n_embd).
result<std::vector<std::vector<double>>> reference_hidden(const std::string& gguf_path,
                                                          const std::vector<int32_t>& tokens);

}  // namespace r1::engine::testing
