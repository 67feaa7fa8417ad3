// r1-runner quantize IN OUT TYPE [--threads N] [--json]: writes a quantized copy
// of a GGUF model (see quantize_model.h for the rules and quantize_command.cpp
// for the progress lines). Returns the process exit code.
#pragma once

#include "runner_options.h"

namespace r1::runner {

int run_quantize(const quantize_options& o);

}  // namespace r1::runner
