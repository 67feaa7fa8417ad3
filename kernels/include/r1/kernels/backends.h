// The backends compiled into this binary (r1::kernels_backends): CPU always,
// Vulkan when built with R1_VULKAN, CUDA with R1_CUDA. A GPU backend that
// cannot start (no loader, no driver, no device) is recorded as unavailable
// with its reason instead of failing the whole registry.
// Not thread safe while building; the registry is read-only afterwards.
#pragma once

#include <string>

#include "r1/kernels/backend.h"

namespace r1::kernels {

struct backends_options {
  int cpu_threads = 0;     // <= 0: one per physical core
  bool enable_gpu = true;  // false: CPU only (no GPU library is touched)
};

backend_registry make_backend_registry(const backends_options& o = {});

// Names of the GPU backends compiled in ("vulkan", "cuda"), whether usable or not.
std::vector<std::string> compiled_backends();

// JSON for `r1-runner --list-devices`:
// {"devices":[{"backend","index","name","type","total_memory","free_memory",
//   "compute_capability"?, "driver"?}...], "unavailable":[{"backend","error"}...]}
// Memory in bytes. `type` is device_type_name(); CUDA adds compute_capability.
std::string list_devices_json(const backend_registry& r);

}  // namespace r1::kernels
