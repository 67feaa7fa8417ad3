// Runs `r1-runner quantize --json IN OUT TYPE` as a child process for
// /api/create's `quantize` (the daemon links no kernels; a crash or an
// out-of-memory kill of the quantizer stays in the child).
//
// Ownership: the caller owns `output`; on any failure this function removes
// it and the writer's temp files beside it (OUT.tmp-*), so nothing half
// written is left in the blob directory. Thread safety: one call per child;
// may run on any thread.
// Errors: not_found when the runner executable is missing; invalid_argument
// with the runner's message for a bad type or an unsuitable source (exit 3);
// cancelled when `progress` returns false (the child is stopped); internal
// with the runner's last message for other failures.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "r1/base/status.h"
#include "r1/daemon/model_catalog.h"
#include "r1/registry/model_store.h"

namespace r1::daemon {

struct quantize_job {
  std::string runner;  // r1-runner executable
  std::string input, output, type;
  int threads = 0;
};

// Called with every JSON line the quantizer prints ({"status":"quantizing",
// "source_type","target_type","total","completed"}, {"warning"}, {"status":"done",...});
// returning false cancels.
using quantize_line_fn = std::function<bool(const nlohmann::json&)>;

// Returns the final {"status":"done",...} object.
result<nlohmann::json> run_quantize_child(const quantize_job& job, const quantize_line_fn& progress);

struct daemon_context;

// /api/create with `quantize`: replaces the one model layer of `layers` by a
// quantized copy stored as a new blob (written to a temp file in the blob
// directory, hashed, then committed; removed on failure) and `gguf` by the new
// file's summary. Nothing happens when the model already has that type.
// `emit` receives Ollama's progress lines ("quantizing F16 model to Q4_K_M"
// with digest, total, completed; "creating new layer sha256:..."); returning
// false cancels. invalid_argument for a model in several files.
status quantize_for_create(daemon_context& ctx, const std::string& type, std::vector<registry::layer_source>* layers,
                           std::shared_ptr<const gguf_summary>* gguf, const quantize_line_fn& emit);

}  // namespace r1::daemon
