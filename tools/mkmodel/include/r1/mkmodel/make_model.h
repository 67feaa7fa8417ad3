// Builds test models: GGUF metadata for the architecture, a real or synthetic
// tokenizer, and every tensor llama.cpp expects, filled with seeded random
// weights (std about 1/sqrt(fan_in); norms around 1; biases small). The same
// spec and seed give the same bytes.
//
// Tensor names and shapes come from gguf::expected_tensors(), so a model
// written here passes gguf::check_tensors() by construction.
//
// Errors: invalid_argument for a bad spec (unknown arch or type, shapes that
// do not divide, a quantized type with rows that are not whole blocks),
// errors of the tokenizer loader, io errors from writing.
// Thread safety: functions are reentrant.
#pragma once

#include <string>
#include <vector>

#include "r1/base/status.h"
#include "r1/gguf/writer.h"
#include "r1/mkmodel/model_spec.h"

namespace r1::mkmodel {

// Whether `type` (e.g. "Q4_K_M") can be written by this build.
bool type_supported(std::string_view type);

// The metadata only (architecture keys, tokenizer, file type), no tensors:
// cheap even for the largest presets, for parameter and size estimates.
result<gguf::writer> build_metadata(const model_spec& spec);

// Fills a writer with the whole model (tensor data is produced at write time).
result<gguf::writer> build_model(const model_spec& spec);

// build_model + write (or write_split when spec.n_split > 1, using `path`
// without its ".gguf" as the prefix). Returns the files written.
result<std::vector<std::string>> write_model(const model_spec& spec, const std::string& path);

}  // namespace r1::mkmodel
