// Every fast path against the scalar reference, on every path this CPU has.
#include <gtest/gtest.h>

#include "r1/kernels/cpu_features.h"
#include "r1/kernels/quants.h"
#include "test_util.h"

namespace r1::kernels {
namespace {

using test::path_guard;

TEST(KernelPath, SetAndReport) {
  path_guard g;
  EXPECT_EQ(set_kernel_path("nonsense").code(), error_code::invalid_argument);
  ASSERT_TRUE(set_kernel_path("scalar").ok());
  EXPECT_STREQ(kernel_path_name(), "scalar");
  for (auto p : {kernel_path::avx2, kernel_path::avx512, kernel_path::amx}) {
    const status s = set_kernel_path(kernel_path_name(p));
    if (kernel_path_supported(p)) {
      EXPECT_TRUE(s.ok());
      EXPECT_STREQ(kernel_path_name(), kernel_path_name(p));
    } else {
      EXPECT_EQ(s.code(), error_code::unavailable);
    }
  }
  ASSERT_TRUE(set_kernel_path("auto").ok());
  EXPECT_EQ(active_kernel_path(), best_kernel_path());
  const auto& f = detect_cpu_features();
  EXPECT_GE(f.physical_cores, 1);
  EXPECT_LE(f.physical_cores, f.logical_cpus);
}

TEST(KernelPath, ReportsSkippedPaths) {
  for (auto p : {kernel_path::avx2, kernel_path::avx512, kernel_path::amx})
    if (!kernel_path_supported(p)) std::printf("[ SKIPPED  ] path %s: not supported by this CPU\n", kernel_path_name(p));
}

TEST(VecDotPaths, FastPathsMatchScalar) {
  std::mt19937 rng(11);
  for (kernel_path p : test::supported_paths()) {
    if (p == kernel_path::scalar) continue;
    for (tensor_type t : test::dot_types()) {
      const tensor_type vt = vec_dot_type(t);
      const int64_t blk = type_info(t).block_elems;
      std::vector<int64_t> sizes = {blk, 2 * blk, 3 * blk, 7 * blk, 4096};
      if (blk == 1) sizes.insert(sizes.end(), {1, 5, 15, 17, 31, 33, 63, 65, 127, 129, 1000, 4099});
      if (blk == 32) sizes.insert(sizes.end(), {96, 160, 4128});
      for (int64_t n : sizes) {
        const auto w = test::random_blocks(rng, t, n);
        const auto xf = test::random_floats(rng, n);
        std::vector<uint8_t> a(row_size(vt, n));
        ASSERT_TRUE(quantize_row(vt, xf.data(), a.data(), n).ok());
        double scale;
        (void)test::reference_dot(t, w.data(), a.data(), n, &scale);
        const float ref = vec_dot_on(kernel_path::scalar, t, n, w.data(), a.data());
        const float got = vec_dot_on(p, t, n, w.data(), a.data());
        EXPECT_NEAR(got, ref, 2e-5 * scale + 1e-6)
            << kernel_path_name(p) << " " << type_info(t).name << " n=" << n;
      }
    }
  }
}

TEST(ConvertPaths, F16RowsIdenticalOnEveryPath) {
  path_guard g;
  std::mt19937 rng(12);
  auto x = test::random_floats(rng, 1037, 1000.0f);
  x[3] = 1e-6f;
  x[4] = 70000.0f;
  x[5] = -0.0f;
  std::vector<uint16_t> want(x.size());
  for (size_t i = 0; i < x.size(); ++i) want[i] = fp32_to_fp16(x[i]);
  for (kernel_path p : test::supported_paths()) {
    ASSERT_TRUE(set_kernel_path(kernel_path_name(p)).ok());
    std::vector<uint16_t> h(x.size());
    std::vector<float> back(x.size());
    convert_f32_to_f16(x.data(), h.data(), static_cast<int64_t>(x.size()));
    convert_f16_to_f32(h.data(), back.data(), static_cast<int64_t>(x.size()));
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_EQ(h[i], want[i]) << kernel_path_name(p) << " " << i;
      ASSERT_EQ(back[i], fp16_to_fp32(want[i])) << kernel_path_name(p) << " " << i;
    }
  }
}

}  // namespace
}  // namespace r1::kernels
