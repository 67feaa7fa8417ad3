// SPIR-V of every compute shader variant, generated at build time (CMakeLists.txt).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace r1::kernels::vk {

struct spirv_blob {
  const char* name;  // "matmul_q4_k"
  const uint32_t* code;
  size_t words;
};

// nullptr when no shader has this name.
const spirv_blob* find_spirv(std::string_view name);

}  // namespace r1::kernels::vk
