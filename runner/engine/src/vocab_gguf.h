// Reads the tokenizer.ggml.* metadata of a GGUF file into an engine::vocab (private).
#pragma once

#include "r1/base/status.h"
#include "r1/engine/vocab.h"
#include "r1/gguf/file.h"

namespace r1::engine {

// Errors: not_found for a missing required key (tokens, model), invalid_argument for a
// tokenizer model other than "gpt2", corrupt for arrays of mismatched sizes or bad types.
result<vocab> vocab_from_gguf(const gguf::file& meta);

}  // namespace r1::engine
