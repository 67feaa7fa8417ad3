// The decode and small-batch dot kernels: the multi-row kernel matmul uses for a
// single column, and the 2-, 3- and 4-column kernels for small batches. Every
// output must equal the plain 1-row dot of its path bit for bit (so decode,
// batches and thread splits agree), stay within tolerance of the scalar path,
// and match a float64 reference written from the format description.
#include <gtest/gtest.h>

#include <bit>

#include "r1/kernels/matmul.h"
#include "r1/kernels/quants.h"
#include "test_util.h"

namespace r1::kernels {
namespace {

using test::path_guard;

// Types with multi-row or multi-column kernels on some path, plus one without (Q4_1).
std::vector<tensor_type> decode_types() {
  return {tensor_type::q8_0, tensor_type::q4_0, tensor_type::q4_k, tensor_type::q5_k, tensor_type::q6_k,
          tensor_type::f32,  tensor_type::f16,  tensor_type::bf16, tensor_type::q4_1};
}

struct shape {
  int64_t rows, cols, n_cols;
  size_t pad = 0;  // extra bytes after each weight row (row_stride_bytes = row size + pad)
};

std::string describe(kernel_path p, tensor_type t, const shape& s, int64_t r, int64_t j) {
  return std::string(kernel_path_name(p)) + " " + std::string(type_info(t).name) + " " + std::to_string(s.rows) +
         "x" + std::to_string(s.cols) + " n_cols " + std::to_string(s.n_cols) + " pad " + std::to_string(s.pad) +
         ": row " + std::to_string(r) + " col " + std::to_string(j);
}

// matmul on path p with 1, 2 and 3 threads, checked output by output.
void check_shape(kernel_path p, tensor_type t, const shape& s, std::mt19937& rng) {
  const size_t row = row_size(t, s.cols), stride = row + s.pad;
  const auto packed = test::random_blocks(rng, t, s.rows * s.cols);
  std::vector<uint8_t> w(stride * static_cast<size_t>(s.rows) + 64, 0xa5);
  for (int64_t r = 0; r < s.rows; ++r)
    std::copy_n(packed.data() + static_cast<size_t>(r) * row, row, w.data() + static_cast<size_t>(r) * stride);
  const auto x = test::random_floats(rng, s.cols * s.n_cols);
  const matrix_view mv{t, s.rows, s.cols, w.data(), s.pad ? stride : 0};
  const int64_t y_stride = s.rows + 2;
  std::vector<std::vector<float>> ys;
  scratch sc;
  ASSERT_TRUE(set_kernel_path(kernel_path_name(p)).ok());
  for (int threads : {1, 2, 3}) {
    thread_pool pool(threads);
    ys.emplace_back(static_cast<size_t>(y_stride * s.n_cols), -7.0f);
    matmul(mv, x.data(), s.n_cols, s.cols, ys.back().data(), y_stride, pool, sc);
  }
  const tensor_type vt = vec_dot_type(t);
  std::vector<uint8_t> a(row_size(vt, s.cols));
  for (int64_t j = 0; j < s.n_cols; ++j) {
    ASSERT_TRUE(quantize_row(vt, x.data() + j * s.cols, a.data(), s.cols).ok());
    for (int64_t r = 0; r < s.rows; ++r) {
      const uint8_t* wr = w.data() + static_cast<size_t>(r) * stride;
      const float got = ys[0][static_cast<size_t>(j * y_stride + r)];
      const float one_row = vec_dot_on(p, t, s.cols, wr, a.data());
      ASSERT_EQ(std::bit_cast<uint32_t>(got), std::bit_cast<uint32_t>(one_row)) << describe(p, t, s, r, j);
      for (size_t k = 1; k < ys.size(); ++k)
        ASSERT_EQ(std::bit_cast<uint32_t>(got), std::bit_cast<uint32_t>(ys[k][static_cast<size_t>(j * y_stride + r)]))
            << describe(p, t, s, r, j) << " threads " << k + 1;
      double scale;
      const double ref = test::reference_dot(t, wr, a.data(), s.cols, &scale);
      ASSERT_NEAR(got, ref, 2e-5 * scale + 1e-6) << describe(p, t, s, r, j);
      const float scalar = vec_dot_on(kernel_path::scalar, t, s.cols, wr, a.data());
      ASSERT_NEAR(got, scalar, 2e-5 * scale + 1e-6) << describe(p, t, s, r, j);
    }
    for (int64_t r = s.rows; r < y_stride; ++r)
      ASSERT_EQ(ys[0][static_cast<size_t>(j * y_stride + r)], -7.0f) << "wrote past the rows, col " << j;
  }
}

// Row counts around the multi-row factor (4) and the decode chunk (64), odd block
// counts (the kernels step two blocks at a time), and 1-7 columns (4-column
// groups followed by a 1-, 2- or 3-column rest).
TEST(DecodeKernels, MatchDotScalarAndFloat64) {
  path_guard g;
  std::mt19937 rng(61);
  for (kernel_path p : test::supported_paths()) {
    for (tensor_type t : decode_types()) {
      const int64_t blk = type_info(t).block_elems;
      const int64_t blocks_per_row = blk == 256 ? 3 : (blk == 32 ? 7 : 8);
      const int64_t cols = blk == 1 ? 101 : blk * blocks_per_row;
      for (int64_t rows : {1, 3, 4, 5, 9, 67, 131})
        for (int64_t n_cols : {1, 2, 3})
          check_shape(p, t, {rows, cols, n_cols}, rng);
      for (int64_t n_cols : {4, 5, 6, 7}) check_shape(p, t, {13, cols, n_cols}, rng);
      check_shape(p, t, {7, blk, 1}, rng);  // one block per row
    }
  }
}

// Rows that are not packed (a row stride larger than the row): the multi-row
// kernel must step by the stride.
TEST(DecodeKernels, PaddedRowStride) {
  path_guard g;
  std::mt19937 rng(62);
  for (kernel_path p : test::supported_paths())
    for (tensor_type t : decode_types()) {
      const int64_t cols = type_info(t).block_elems == 256 ? 512 : 96;
      check_shape(p, t, {23, cols, 1, 40}, rng);
      check_shape(p, t, {10, cols, 3, 8}, rng);  // pads keep the rows 4-byte aligned (F32)
    }
}

// Model-like row lengths (1536 and 8960) where the prefetch distance switches
// between the next group of rows and a fixed distance within the row.
TEST(DecodeKernels, ModelRowLengths) {
  path_guard g;
  std::mt19937 rng(63);
  for (kernel_path p : test::supported_paths()) {
    if (p == kernel_path::scalar) continue;
    for (tensor_type t : {tensor_type::q8_0, tensor_type::q4_0, tensor_type::q4_k, tensor_type::q6_k})
      for (int64_t cols : {1536, 8960}) check_shape(p, t, {70, cols, 1}, rng);
  }
}

}  // namespace
}  // namespace r1::kernels
