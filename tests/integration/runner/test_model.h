// The small qwen2 models the runner integration tests serve: real Qwen tokenizer (first 3000
// tokens), F16 weights, 4 heads over 2 KV heads. F16 stays on the dot kernels on every CPU, so a
// row computes the same whatever shares its forward pass (AMX tiles take only K-quant/Q8_0
// batches of 12+ rows).
#pragma once

#include <cstdint>
#include <string>

namespace r1::runner_test {

// Writes the model to `path` and returns it; a failure is reported as a test failure.
std::string write_test_model(const std::string& path, uint32_t n_embd, uint32_t n_layer, uint32_t seed);

}  // namespace r1::runner_test
