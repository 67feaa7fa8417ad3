// Q8_0 prompts on AMX-BF16 tiles (matmul_takes_float, amx_q8_0_bf16_gemm.cpp):
// every output within the stated bound of the float64 product of the Q8_0
// weights and the float activations, for odd row / column / K tails, K long
// enough to be cut into chunks, padded row strides, 1 to 3 threads (the same
// bits for each); only the outputs asked for are written; which batches take
// the path. Skipped (with a message) without AMX-BF16.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <string>

#include "r1/kernels/amx_packed_matrix.h"
#include "r1/kernels/cpu_features.h"
#include "r1/kernels/matmul.h"
#include "r1/kernels/quants.h"
#include "amx_test_util.h"
#include "test_util.h"

namespace r1::kernels {
namespace {

using test::path_guard;

#define R1_REQUIRE_AMX_BF16()                                                                  \
  do {                                                                                         \
    R1_REQUIRE_AMX();                                                                          \
    if (!detect_cpu_features().amx_bf16 || !detect_cpu_features().avx512bf16)                  \
      GTEST_SKIP() << "AMX-BF16 or AVX512_BF16 not available: Q8_0 prompts stay on AMX-INT8"; \
  } while (0)

using test::k_untouched;
using test::run_matmul;

struct shape {  // weight rows, K, activation columns
  int64_t rows, cols, n_cols;
};

void check(const shape& s, size_t pad, std::mt19937& rng) {
  const std::string what = std::to_string(s.rows) + "x" + std::to_string(s.cols) + " n_cols " +
                           std::to_string(s.n_cols) + " pad " + std::to_string(pad);
  const tensor_type t = tensor_type::q8_0;
  const size_t row = row_size(t, s.cols), stride = row + pad;
  const auto dense = test::random_blocks(rng, t, s.rows * s.cols);
  std::vector<uint8_t> w(stride * static_cast<size_t>(s.rows), 0xa5);
  for (int64_t r = 0; r < s.rows; ++r) std::memcpy(w.data() + r * stride, dense.data() + r * row, row);
  const int64_t x_stride = s.cols + 1, y_stride = s.rows + 3;  // run_matmul's
  const auto x = test::random_floats(rng, x_stride * s.n_cols);
  matrix_view mv{t, s.rows, s.cols, w.data(), pad ? stride : 0};
  thread_pool pool(2);
  auto packed = amx_repack(mv, pool);
  ASSERT_TRUE(packed.ok()) << what << ": " << packed.error().message();
  matrix_view pv = mv;
  pv.amx_packed = packed->data();
  ASSERT_TRUE(matmul_takes_float(pv, s.n_cols)) << what;
  std::vector<uint8_t> zeros(w.size(), 0);
  pv.data = zeros.data();  // the copy is all it reads

  const std::vector<float> y = run_matmul(pv, x, s.n_cols, 1);
  const std::vector<double> wd = test::reference_dequantize(t, dense.data(), s.rows * s.cols);
  // bf16 rounding of each weight d·q and each activation (2⁻⁸ relative each), the
  // products exact in fp32, K fp32 additions.
  const double rel = 0x1p-7 + 0x1p-15 + static_cast<double>(s.cols) * 0x1p-23;
  for (int64_t c = 0; c < s.n_cols; ++c) {
    for (int64_t r = 0; r < y_stride; ++r) {
      const float got = y[static_cast<size_t>(c * y_stride + r)];
      if (r >= s.rows) {
        ASSERT_EQ(got, k_untouched) << what << " wrote past the rows at column " << c;
        continue;
      }
      double want = 0, mag = 0;
      for (int64_t k = 0; k < s.cols; ++k) {
        const double p = wd[static_cast<size_t>(r * s.cols + k)] * static_cast<double>(x[static_cast<size_t>(c * x_stride + k)]);
        want += p;
        mag += std::fabs(p);
      }
      ASSERT_NEAR(got, want, rel * mag + 1e-30) << what << " column " << c << " row " << r;
    }
  }
  for (int threads : {2, 3}) {
    const std::vector<float> other = run_matmul(pv, x, s.n_cols, threads);
    for (size_t i = 0; i < y.size(); ++i)
      ASSERT_EQ(std::bit_cast<uint32_t>(other[i]), std::bit_cast<uint32_t>(y[i]))
          << what << " " << threads << " threads at " << i;
  }
}

TEST(AmxBf16, WithinBoundOfFloat64) {
  R1_REQUIRE_AMX_BF16();
  path_guard guard;
  ASSERT_TRUE(set_kernel_path("amx").ok());
  std::mt19937 rng(1201);
  // 16-row and 16-column tails, single tiles, pairs and odd counts of both, long
  // rows; 600 x 4192 cuts K into two chunks (on 1 thread a task takes 4 row tiles
  // and keeps 512 one-KiB B tiles per chunk).
  for (const shape& s : {shape{16, 32, 16}, shape{37, 160, 17}, shape{5, 32, 47}, shape{50, 160, 33},
                         shape{1, 160, 12}, shape{130, 224, 70}, shape{600, 32, 20}, shape{600, 4192, 21},
                         shape{24, 8960, 13}})
    check(s, 0, rng);
  check(shape{21, 160, 29}, 6, rng);
}

TEST(AmxBf16, WhichBatchesTakeFloat) {
  R1_REQUIRE_AMX_BF16();
  path_guard guard;
  ASSERT_TRUE(set_kernel_path("amx").ok());
  std::mt19937 rng(5);
  const auto dense = test::random_blocks(rng, tensor_type::q8_0, 32 * 64);
  matrix_view mv{tensor_type::q8_0, 32, 64, dense.data(), 0};
  thread_pool pool(1);
  auto packed = amx_repack(mv, pool);
  ASSERT_TRUE(packed.ok());
  matrix_view pv = mv;
  pv.amx_packed = packed->data();
  EXPECT_FALSE(matmul_takes_float(mv, 64)) << "no repacked copy";
  EXPECT_TRUE(matmul_takes_float(pv, amx_min_cols()));
  EXPECT_FALSE(matmul_takes_float(pv, amx_min_cols() - 1)) << "below the AMX batch size";
  EXPECT_FALSE(matmul_takes_float(pv, 1)) << "decode";
  ASSERT_TRUE(set_kernel_path("avx512").ok());
  EXPECT_FALSE(matmul_takes_float(pv, 64)) << "not the amx path";
  ASSERT_TRUE(set_kernel_path("amx").ok());
  const auto k = test::random_blocks(rng, tensor_type::q4_k, 32 * 256);
  matrix_view kv{tensor_type::q4_k, 32, 256, k.data(), 0};
  auto kp = amx_repack(kv, pool);
  ASSERT_TRUE(kp.ok());
  kv.amx_packed = kp->data();
  EXPECT_FALSE(matmul_takes_float(kv, 64)) << "Q4_K keeps AMX-INT8";
}

}  // namespace
}  // namespace r1::kernels
