// Shared by the AMX kernel tests: the skip for machines without AMX and the
// weight types the AMX prompt GEMM handles.
#pragma once

#include <gtest/gtest.h>

#include "r1/base/tensor_type.h"
#include "r1/kernels/cpu_features.h"

#define R1_REQUIRE_AMX()                                                                       \
  do {                                                                                         \
    if (!::r1::kernels::kernel_path_supported(::r1::kernels::kernel_path::amx))                \
      GTEST_SKIP() << "AMX-INT8 not available (cpuid AMX-TILE/AMX-INT8 or the kernel's grant " \
                      "of tile data missing): the amx path is not used on this machine";      \
  } while (0)

namespace r1::kernels::test {

inline constexpr tensor_type k_amx_types[] = {tensor_type::q4_0, tensor_type::q8_0, tensor_type::q4_k,
                                              tensor_type::q5_k, tensor_type::q6_k};

}  // namespace r1::kernels::test
