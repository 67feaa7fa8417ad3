// The llama.cpp side of the comparison tests: r1-llamacpp-logprobs, a helper
// that scripts/llamacpp-build.sh builds against llama.cpp outside the
// repository into $R1_LLAMACPP_DIR/bin. Tests skip when it is not there.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "r1/base/status.h"

namespace r1::test_support {

// $R1_LLAMACPP_DIR/bin/r1-llamacpp-logprobs when it exists, else "".
std::string llamacpp_helper_path();

// Runs the helper on `model` teacher-forced over `tokens` with KV cache type `kv` ("f16", "q8_0")
// and returns its JSON: positions[i] = [[id, logprob] x 5]. `env_prefix` goes before the
// command ("R1_LLAMACPP_UBATCH=1 " for token-by-token evaluation).
result<nlohmann::json> llamacpp_logprobs(const std::string& model, const std::string& kv,
                                         const std::vector<int32_t>& tokens, const std::string& env_prefix = {});

}  // namespace r1::test_support
