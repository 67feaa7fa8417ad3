// The Vulkan backend (r1::kernels_vulkan): GLSL compute shaders compiled to
// SPIR-V at build time and embedded in the library. Works on any Vulkan 1.2
// device with compute queues, including Mesa's lavapipe (CPU) driver.
//
// Limits of this first version: matmul/get_rows need cols % 32 == 0; weight
// types F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K; KV caches F32 or F16;
// byte offsets inside one buffer must stay below 4 GiB (use one buffer per
// large tensor). See docs/dev/gpu.md.
#pragma once

#include <memory>

#include "r1/kernels/backend.h"

namespace r1::kernels {

struct vulkan_options {
  // false: device buffers are never mapped, transfers go through staging
  // buffers even where device memory is host visible (the path of discrete
  // GPUs without resizable BAR; lets tests exercise it on lavapipe).
  bool map_device_memory = true;
};

// unavailable when no Vulkan loader / driver can be initialised. A backend
// with zero devices is returned as such (the registry records it as unavailable).
result<std::unique_ptr<backend>> make_vulkan_backend(const vulkan_options& o = {});

}  // namespace r1::kernels
