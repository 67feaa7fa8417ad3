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

// unavailable when no Vulkan loader / driver can be initialised. A backend
// with zero devices is returned as such (the registry records it as unavailable).
result<std::unique_ptr<backend>> make_vulkan_backend();

}  // namespace r1::kernels
