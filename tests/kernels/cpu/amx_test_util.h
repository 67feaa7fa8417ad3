// Shared by the AMX kernel tests and the engine's AMX tests: the skip for machines
// without AMX, the weight types the AMX prompt GEMM handles, a guard for the integer
// prompt GEMM, and whether the system offers transparent huge pages.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "r1/base/tensor_type.h"
#include "r1/kernels/cpu_features.h"

#define R1_REQUIRE_AMX()                                                                       \
  do {                                                                                         \
    if (!::r1::kernels::kernel_path_supported(::r1::kernels::kernel_path::amx))                \
      GTEST_SKIP() << "AMX-INT8 not available (cpuid AMX-TILE/AMX-INT8 or the kernel's grant " \
                      "of tile data missing): the amx path is not used on this machine";      \
  } while (0)

#include "r1/kernels/matmul.h"

namespace r1::kernels::test {

// y of matmul(mv, x) for n_cols columns `mv.cols + 1` floats apart, into columns
// `mv.rows + 3` floats apart that start filled with k_untouched.
inline constexpr float k_untouched = -7.0f;
inline std::vector<float> run_matmul(const matrix_view& mv, const std::vector<float>& x, int64_t n_cols, int threads) {
  thread_pool pool(threads);
  scratch sc;
  const int64_t y_stride = mv.rows + 3;
  std::vector<float> y(static_cast<size_t>(y_stride * n_cols), k_untouched);
  matmul(mv, x.data(), n_cols, mv.cols + 1, y.data(), y_stride, pool, sc);
  return y;
}

// Keeps Q8_0 prompts on the integer AMX GEMM while alive (set_amx_bf16_prompts),
// for tests of its bits; amx_bf16_test.cpp covers the bf16 one.
class bf16_prompts_off {
 public:
  bf16_prompts_off() : saved_(amx_bf16_prompts()) { set_amx_bf16_prompts(false); }
  ~bf16_prompts_off() { set_amx_bf16_prompts(saved_); }
  bf16_prompts_off(const bf16_prompts_off&) = delete;
  bf16_prompts_off& operator=(const bf16_prompts_off&) = delete;

 private:
  bool saved_;
};

// Whether this system hands out transparent huge pages on MADV_HUGEPAGE (read here,
// not through the kernels' own check that the tests are about).
inline bool thp_offered() {
  std::FILE* f = std::fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
  if (f == nullptr) return false;
  char line[128] = {};
  const bool read = std::fgets(line, sizeof line, f) != nullptr;
  std::fclose(f);
  return read && std::strstr(line, "[never]") == nullptr;
}

inline constexpr tensor_type k_amx_types[] = {tensor_type::q4_0, tensor_type::q8_0, tensor_type::q4_k,
                                              tensor_type::q5_k, tensor_type::q6_k};

}  // namespace r1::kernels::test
