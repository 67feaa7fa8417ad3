// The CUDA backend (r1::kernels_cuda): one .cu per op, built for sm_80 and
// sm_90 with PTX for newer GPUs. Same op list, limits and error contract as the
// Vulkan backend (vulkan_backend.h); kernels are plain CUDA C++ (no vendor
// libraries). Built only with -DR1_CUDA=ON.
#pragma once

#include <memory>

#include "r1/kernels/backend.h"

namespace r1::kernels {

// unavailable when the driver cannot be initialised or reports no device.
result<std::unique_ptr<backend>> make_cuda_backend();

}  // namespace r1::kernels
