// The backends linked statically into one binary (r1::kernels_backends): CPU always, Vulkan
// when built with R1_VULKAN, CUDA with R1_CUDA. The backend tests and tools link this; r1-runner
// does not: it loads the GPU backends as plugins (plugin_loader.h), so it needs no GPU library.
// A GPU backend that cannot start (no loader, no driver, no device) is recorded as unavailable
// with its reason instead of failing the whole registry.
// Not thread safe while building; the registry is read-only afterwards.
#pragma once

#include <string>
#include <vector>

#include "r1/kernels/backend.h"
#include "r1/kernels/plugin_loader.h"  // list_devices_json()

namespace r1::kernels {

struct backends_options {
  int cpu_threads = 0;     // <= 0: one per physical core
  bool enable_gpu = true;  // false: CPU only (no GPU library is touched)
};

backend_registry make_backend_registry(const backends_options& o = {});

// Names of the GPU backends compiled in ("vulkan", "cuda"), whether usable or not.
std::vector<std::string> compiled_backends();

}  // namespace r1::kernels
