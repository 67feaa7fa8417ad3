// The AMX-INT8 prompt GEMM: against the float64 reference and the scalar path on
// random data of odd shapes (rows, columns and K not multiples of the tile), for
// every type it handles; bit-identical for any thread count; equal to the avx512
// path up to float summation order; small batches stay on the dot kernels.
// Skipped (with a message) on CPUs or kernels without AMX.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>

#include "r1/kernels/cpu_features.h"
#include "r1/kernels/matmul.h"
#include "r1/kernels/quants.h"
#include "amx_test_util.h"
#include "test_util.h"

namespace r1::kernels {
namespace {

using test::k_amx_types;
using test::path_guard;

struct shape {
  int64_t rows, cols, n_cols;
};

struct run_result {
  std::vector<float> y;
  int64_t y_stride;
};

run_result run_matmul(const char* path, tensor_type t, const shape& s, const std::vector<uint8_t>& w,
                      const std::vector<float>& x, int64_t x_stride, int threads) {
  EXPECT_TRUE(set_kernel_path(path).ok());
  run_result r{std::vector<float>(static_cast<size_t>((s.rows + 2) * s.n_cols), -7.0f), s.rows + 2};
  const matrix_view mv{t, s.rows, s.cols, w.data(), 0};
  thread_pool pool(threads);
  scratch sc;
  matmul(mv, x.data(), s.n_cols, x_stride, r.y.data(), r.y_stride, pool, sc);
  return r;
}

// AMX against float64 (the integer products are exact, so the tolerance is the
// float accumulation's), against scalar and avx512 (same integers, other order),
// and against itself on 1 and 3 threads (bit-identical).
void check_weights(tensor_type t, const shape& s, const std::vector<uint8_t>& w, const std::vector<float>& x,
                   int64_t x_stride) {
  const run_result amx = run_matmul("amx", t, s, w, x, x_stride, 1);
  const run_result amx3 = run_matmul("amx", t, s, w, x, x_stride, 3);
  const run_result sca = run_matmul("scalar", t, s, w, x, x_stride, 2);
  const run_result avx = run_matmul("avx512", t, s, w, x, x_stride, 2);
  const tensor_type vt = vec_dot_type(t);
  const size_t wrow = row_size(t, s.cols);
  std::vector<uint8_t> a(row_size(vt, s.cols));
  const std::string what = std::string(type_info(t).name) + " " + std::to_string(s.rows) + "x" +
                           std::to_string(s.cols) + " n_cols " + std::to_string(s.n_cols);
  for (int64_t j = 0; j < s.n_cols; ++j) {
    ASSERT_TRUE(quantize_row(vt, x.data() + j * x_stride, a.data(), s.cols).ok());
    for (int64_t r = 0; r < s.rows; ++r) {
      double scale = 0;
      const double ref = test::reference_dot(t, w.data() + r * wrow, a.data(), s.cols, &scale);
      const size_t i = static_cast<size_t>(j * amx.y_stride + r);
      ASSERT_NEAR(amx.y[i], ref, 2e-6 * scale + 1e-6) << what << " row " << r << " col " << j;
      ASSERT_NEAR(amx.y[i], sca.y[i], 4e-6 * scale + 1e-6) << what << " vs scalar, row " << r << " col " << j;
      ASSERT_NEAR(amx.y[i], avx.y[i], 4e-6 * scale + 1e-6) << what << " vs avx512, row " << r << " col " << j;
      ASSERT_EQ(std::bit_cast<uint32_t>(amx.y[i]), std::bit_cast<uint32_t>(amx3.y[i])) << what << " threads";
    }
    for (int64_t r = s.rows; r < amx.y_stride; ++r)
      ASSERT_EQ(amx.y[static_cast<size_t>(j * amx.y_stride + r)], -7.0f) << what << ": wrote past the rows";
  }
}

void check_shape(tensor_type t, const shape& s, std::mt19937& rng) {
  const auto w = test::random_blocks(rng, t, s.rows * s.cols);
  const int64_t x_stride = s.cols + 5;
  check_weights(t, s, w, test::random_floats(rng, x_stride * s.n_cols), x_stride);
}

TEST(Amx, MatchesFloat64ScalarAndAvx512OnOddShapes) {
  R1_REQUIRE_AMX();
  path_guard guard;
  std::mt19937 rng(61);
  for (tensor_type t : k_amx_types) {
    const bool k_quant = type_info(t).block_elems == 256;
    // K: one block, an odd number of blocks (Q8_0/Q4_0: K not a multiple of 64).
    const int64_t k_small = k_quant ? 256 : 32, k_odd = k_quant ? 768 : 160;
    for (const shape& s : {shape{16, k_small, 16}, shape{37, k_odd, 17}, shape{5, k_small, 47},
                           shape{50, k_odd, 33}, shape{33, k_quant ? 512 : 96, 40}})
      check_shape(t, s, rng);
  }
}

// Extreme blocks: all quants at their maximum and largest scales, so the int16
// scale·quant products and the tile sums reach their ranges.
TEST(Amx, ExtremeQuantsStayExact) {
  R1_REQUIRE_AMX();
  path_guard guard;
  std::mt19937 rng(62);
  for (tensor_type t : k_amx_types) {
    const shape s{20, type_info(t).block_elems == 256 ? 512 : 64, 18};
    for (int fill : {0x00, 0x80, 0xff}) {
      auto w = test::random_blocks(rng, t, s.rows * s.cols);
      const auto ref_scales = w;
      std::fill(w.begin(), w.end(), static_cast<uint8_t>(fill));
      // Keep the half-precision scales finite: copy them from the random blocks.
      const size_t bsize = type_info(t).block_bytes;
      for (size_t b = 0; b < w.size() / bsize; ++b) {
        uint8_t* p = w.data() + b * bsize;
        const uint8_t* q = ref_scales.data() + b * bsize;
        if (t == tensor_type::q6_k) std::memcpy(p + bsize - 2, q + bsize - 2, 2);
        else if (t == tensor_type::q4_k || t == tensor_type::q5_k) std::memcpy(p, q, 4);
        else std::memcpy(p, q, 2);
      }
      const int64_t x_stride = s.cols;
      auto x = test::random_floats(rng, x_stride * s.n_cols);
      for (size_t i = 0; i < x.size(); i += 2) x[i] = std::fabs(x[i]) + 1.0f;  // large block sums
      check_weights(t, s, w, x, x_stride);
    }
  }
}

// Below amx_min_cols() the amx path runs the avx512 dot kernels: bit-identical.
TEST(Amx, SmallBatchesStayOnDotKernels) {
  R1_REQUIRE_AMX();
  path_guard guard;
  std::mt19937 rng(63);
  for (tensor_type t : k_amx_types) {
    const shape s{24, type_info(t).block_elems == 256 ? 512 : 128, amx_min_cols() - 1};
    const auto w = test::random_blocks(rng, t, s.rows * s.cols);
    const auto x = test::random_floats(rng, s.cols * s.n_cols);
    const run_result amx = run_matmul("amx", t, s, w, x, s.cols, 2);
    const run_result avx = run_matmul("avx512", t, s, w, x, s.cols, 2);
    for (size_t i = 0; i < amx.y.size(); ++i)
      ASSERT_EQ(std::bit_cast<uint32_t>(amx.y[i]), std::bit_cast<uint32_t>(avx.y[i])) << type_info(t).name;
  }
}

// matmul_quantized with activations shared by several matrices (q/k/v) goes
// through the same AMX code and gives the same result as matmul.
TEST(Amx, QuantizedActivationsAreReusable) {
  R1_REQUIRE_AMX();
  path_guard guard;
  ASSERT_TRUE(set_kernel_path("amx").ok());
  std::mt19937 rng(64);
  const int64_t cols = 512, n = 40;
  const auto x = test::random_floats(rng, cols * n);
  thread_pool pool(2);
  scratch s;
  for (tensor_type t : {tensor_type::q4_k, tensor_type::q6_k, tensor_type::q8_0}) {
    const tensor_type vt = vec_dot_type(t);
    std::vector<uint8_t> xq(row_size(vt, cols) * n);
    quantize_columns(vt, x.data(), n, cols, cols, xq.data(), pool);
    for (int64_t rows : {24, 64}) {
      const auto w = test::random_blocks(rng, t, rows * cols);
      const matrix_view mv{t, rows, cols, w.data(), 0};
      std::vector<float> y1(rows * n), y2(rows * n);
      matmul(mv, x.data(), n, cols, y1.data(), rows, pool, s);
      matmul_quantized(mv, xq.data(), n, row_size(vt, cols), y2.data(), rows, pool);
      EXPECT_EQ(y1, y2);
    }
  }
}

// The amx path quantizes Q8_K activations with its own AVX-512 code: bit for bit
// what quantize_row gives, including ties of the largest magnitude (the first
// one's sign wins), exact halves, an all-zero block and values far apart.
TEST(Amx, Q8KActivationsEqualQuantizeRow) {
  R1_REQUIRE_AMX();
  path_guard guard;
  ASSERT_TRUE(set_kernel_path("amx").ok());
  std::mt19937 rng(65);
  const int64_t cols = 1024, n = 9;
  std::vector<float> x = test::random_floats(rng, cols * n, 3.0f);
  for (int j = 0; j < 256; ++j) x[static_cast<size_t>(j)] = 0.0f;                     // block of zeros
  x[300] = -5.0f, x[301] = 5.0f;                                                       // tie: the first wins
  x[600] = 7.0f, x[601] = -7.0f;
  for (int j = 0; j < 256; ++j) x[static_cast<size_t>(768 + j)] = static_cast<float>(j - 127) * 0.5f;  // halves
  x[cols + 5] = 1e30f, x[cols + 6] = 1e-30f;
  thread_pool pool(2);
  const size_t stride = row_size(tensor_type::q8_k, cols);
  std::vector<uint8_t> got(stride * n), want(stride);
  quantize_columns(tensor_type::q8_k, x.data(), n, cols, cols, got.data(), pool);
  for (int64_t j = 0; j < n; ++j) {
    ASSERT_TRUE(quantize_row(tensor_type::q8_k, x.data() + j * cols, want.data(), cols).ok());
    ASSERT_EQ(0, std::memcmp(want.data(), got.data() + j * stride, stride)) << "column " << j;
  }
}

TEST(Amx, AutoPrefersAmxWhereAvailable) {
  path_guard guard;
  if (!kernel_path_supported(kernel_path::amx)) {
    EXPECT_EQ(set_kernel_path("amx").code(), error_code::unavailable);
    GTEST_SKIP() << "AMX-INT8 not available: set_kernel_path(\"amx\") refused as it should be";
  }
  ASSERT_TRUE(set_kernel_path("auto").ok());
  EXPECT_STREQ(kernel_path_name(), "amx");
  EXPECT_TRUE(detect_cpu_features().amx_int8);
}

}  // namespace
}  // namespace r1::kernels
