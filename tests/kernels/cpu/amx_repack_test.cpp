// Repacked AMX weights (r1/kernels/amx_packed_matrix.h): a matmul reading the
// repacked tiles equals the one that unpacks the rows at every call bit for bit
// (same integer tile products, same float steps), for every AMX type, odd row /
// column / K tails, padded row strides and 1 or 3 threads; the copy is really
// what is read (the original bytes can be wiped); Q8_0's copy is decode panels
// and Q4_K's and Q6_K's have them after their A panels (checked against float64),
// the other types decode from the original; sizes and errors; huge pages; copies
// placed in one amx_arena; several matrices decoded in one pool run
// (matmul_quantized_many). Skipped (with a message) without AMX.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include "r1/kernels/amx_packed_matrix.h"
#include "r1/kernels/cpu_features.h"
#include "r1/kernels/matmul.h"
#include "r1/kernels/quants.h"
#include "amx_test_util.h"
#include "test_util.h"

namespace r1::kernels {
namespace {

using test::k_amx_types;
using test::path_guard;
using test::thp_offered;

struct shape {  // weight rows, K, activation columns
  int64_t rows, cols, n_cols;
};

std::vector<float> run(const matrix_view& mv, const std::vector<float>& x, int64_t n_cols, int threads) {
  return test::run_matmul(mv, x, n_cols, threads);
}

void expect_bits_equal(const std::vector<float>& a, const std::vector<float>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i)
    ASSERT_EQ(std::bit_cast<uint32_t>(a[i]), std::bit_cast<uint32_t>(b[i])) << what << " at " << i;
}

// Q8_0's copy is decode panels, Q4_K's and Q6_K's hold them after their A panels: a single
// column with the original bytes wiped (pv) reads them, equal to the exact result
// in float64 (the same activation quants, integer block sums) up to float
// rounding, and for any thread count the same bits; small batches read them too.
void check_panel_decode(const matrix_view& mv, const matrix_view& pv, const std::vector<float>& x,
                        const std::string& what) {
  const tensor_type vt = vec_dot_type(mv.type);
  std::vector<uint8_t> xq(row_size(vt, mv.cols));
  ASSERT_TRUE(quantize_row(vt, x.data(), xq.data(), mv.cols).ok());
  const std::vector<float> one = run(pv, x, 1, 2);
  expect_bits_equal(one, run(pv, x, 1, 1), what + " (decode panels, 1 thread)");
  expect_bits_equal(one, run(pv, x, 1, 3), what + " (decode panels, 3 threads)");
  // Small batches read the panels too, each column with the bits of its own decode.
  const int64_t x_stride = mv.cols + 1, y_stride = mv.rows + 3;
  const int64_t n_avail = static_cast<int64_t>(x.size()) / x_stride;
  for (int64_t n : {int64_t{2}, int64_t{3}, int64_t{5}, int64_t{11}}) {
    if (n > n_avail || n >= amx_min_cols()) continue;
    const std::vector<float> batch = run(pv, x, n, 2);
    for (int64_t c = 0; c < n; ++c) {
      const std::vector<float> xc(x.begin() + c * x_stride, x.begin() + (c + 1) * x_stride);
      const std::vector<float> alone = run(pv, xc, 1, 1);
      for (int64_t r = 0; r < mv.rows; ++r)
        ASSERT_EQ(std::bit_cast<uint32_t>(batch[static_cast<size_t>(c * y_stride + r)]),
                  std::bit_cast<uint32_t>(alone[static_cast<size_t>(r)]))
            << what << " batch of " << n << ", column " << c << " row " << r;
    }
  }
  const size_t stride = mv.row_stride_bytes ? mv.row_stride_bytes : row_size(mv.type, mv.cols);
  for (int64_t r = 0; r < mv.rows; ++r) {
    const uint8_t* wr = static_cast<const uint8_t*>(mv.data) + r * stride;
    double mag;
    const double want = test::reference_dot(mv.type, wr, xq.data(), mv.cols, &mag);
    // Q8_0: one rounding of each scale product and of each block's fused
    // multiply-add. K-quants: the dot kernels' tolerance (their min or −32 terms
    // cancel part of the scale terms, so Σ|w·x| understates what is rounded).
    const double bound = mv.type == tensor_type::q8_0 ? static_cast<double>(mv.cols / 32 + 2) * 0x1p-24 * mag
                                                      : 2e-5 * mag + 1e-6;
    ASSERT_NEAR(one[static_cast<size_t>(r)], want, bound) << what << " decode row " << r;
  }
}

// Weights of `s` with rows `pad` bytes apart beyond their size (0: packed rows).
void check(tensor_type t, const shape& s, size_t pad, std::mt19937& rng) {
  const std::string what = std::string(type_info(t).name) + " " + std::to_string(s.rows) + "x" +
                           std::to_string(s.cols) + " n_cols " + std::to_string(s.n_cols) + " pad " +
                           std::to_string(pad);
  const size_t row = row_size(t, s.cols), stride = row + pad;
  const auto dense = test::random_blocks(rng, t, s.rows * s.cols);
  std::vector<uint8_t> w(stride * static_cast<size_t>(s.rows), 0xa5);
  for (int64_t r = 0; r < s.rows; ++r) std::memcpy(w.data() + r * stride, dense.data() + r * row, row);
  const auto x = test::random_floats(rng, (s.cols + 1) * s.n_cols);
  matrix_view mv{t, s.rows, s.cols, w.data(), pad ? stride : 0};

  thread_pool pool(2);
  auto packed = amx_repack(mv, pool);
  ASSERT_TRUE(packed.ok()) << what << ": " << packed.error().message();
  ASSERT_EQ(packed->bytes(), amx_repacked_bytes(mv)) << what;
  ASSERT_EQ(reinterpret_cast<uintptr_t>(packed->data()) % 64, 0u) << what;
  const std::vector<float> unpacking = run(mv, x, s.n_cols, 1);
  matrix_view pv = mv;
  pv.amx_packed = packed->data();
  expect_bits_equal(unpacking, run(pv, x, s.n_cols, 1), what + " (1 thread)");
  expect_bits_equal(unpacking, run(pv, x, s.n_cols, 3), what + " (3 threads)");
  std::vector<uint8_t> zeros(w.size(), 0);
  pv.data = zeros.data();
  if (amx_copy_serves_every_matmul(mv)) {
    check_panel_decode(mv, pv, x, what);
    if (t == tensor_type::q8_0) return;
    // A copy of the decode panels alone (an output head's): decode reads the same
    // panels, so the same bits; prompt batches unpack the original rows.
    auto alone = amx_repack(mv, pool, amx_copy::decode);
    ASSERT_TRUE(alone.ok()) << what << ": " << alone.error().message();
    ASSERT_TRUE(alone->decode_only()) << what;
    ASSERT_EQ(alone->bytes(), amx_repacked_bytes(mv, amx_copy::decode)) << what;
    ASSERT_LT(alone->bytes(), packed->bytes()) << what;
    matrix_view dv = mv;
    dv.amx_packed = alone->data();
    dv.amx_decode_only = true;
    expect_bits_equal(unpacking, run(dv, x, s.n_cols, 2), what + " (decode-only copy, prompt)");
    dv.data = zeros.data();
    expect_bits_equal(run(pv, x, 1, 2), run(dv, x, 1, 2), what + " (decode-only copy, decode)");
    return;
  }
  // With the original bytes wiped, prompt batches still read the repacked tiles...
  expect_bits_equal(unpacking, run(pv, x, s.n_cols, 2), what + " (original wiped)");
  // ...while a single column (decode, the dot kernels) reads `data`: all zero here.
  const std::vector<float> one = run(pv, x, 1, 2);
  for (int64_t r = 0; r < s.rows; ++r) ASSERT_EQ(one[static_cast<size_t>(r)], 0.0f) << what << " decode row " << r;
}

TEST(AmxRepack, EqualsUnpackingBitForBit) {
  R1_REQUIRE_AMX();
  path_guard guard;
  test::bf16_prompts_off int8_prompts;  // the bits of the integer GEMM
  ASSERT_TRUE(set_kernel_path("amx").ok());
  std::mt19937 rng(71);
  for (tensor_type t : k_amx_types) {
    const bool k_quant = type_info(t).block_elems == 256;
    const int64_t k1 = k_quant ? 256 : 32, k_odd = k_quant ? 768 : 160;
    for (const shape& s : {shape{16, k1, 16}, shape{37, k_odd, 17}, shape{5, k1, 47}, shape{50, k_odd, 33},
                           shape{1, k_odd, 12}, shape{130, k_quant ? 1280 : 224, 70},
                           shape{600, k1, 20}})  // 38 row tiles: tasks of 4 with a partial last
      check(t, s, 0, rng);
    check(t, shape{21, k_odd, 29}, type_info(t).block_bytes + 6, rng);
  }
}

TEST(AmxRepack, SizesAndErrors) {
  // Sizes need no AMX: one panel per 16-row tile (K-quants: 8576 bytes per
  // superblock of 16 rows, Q4_0: 576 per 32-element block of 16 rows).
  // Q4_K, Q6_K: their decode panels follow, 2304 / 3392 bytes per superblock of 16 rows.
  EXPECT_EQ(amx_repacked_bytes({tensor_type::q4_k, 17, 512, nullptr, 0}), 2u * 2u * (8576u + 2304u));
  EXPECT_EQ(amx_repacked_bytes({tensor_type::q6_k, 16, 256, nullptr, 0}), 8576u + 3392u);
  // Q8_0: decode panels, 512 quant bytes per block and 16 fp16 scales, padded to 64.
  EXPECT_EQ(amx_repacked_bytes({tensor_type::q8_0, 33, 64, nullptr, 0}), 3u * (2u * 512u + 64u));
  EXPECT_EQ(amx_repacked_bytes({tensor_type::q8_0, 16, 96, nullptr, 0}), 3u * 512u + 128u);
  EXPECT_EQ(amx_repacked_bytes({tensor_type::q4_0, 16, 32, nullptr, 0}), 576u);
  // Decode panels alone: K-quants without their A panels, Q8_0 as above, none for Q4_0.
  EXPECT_EQ(amx_repacked_bytes({tensor_type::q4_k, 17, 512, nullptr, 0}, amx_copy::decode), 2u * 2u * 2304u);
  EXPECT_EQ(amx_repacked_bytes({tensor_type::q6_k, 16, 256, nullptr, 0}, amx_copy::decode), 3392u);
  EXPECT_EQ(amx_repacked_bytes({tensor_type::q8_0, 16, 96, nullptr, 0}, amx_copy::decode), 3u * 512u + 128u);
  EXPECT_EQ(amx_repacked_bytes({tensor_type::q4_0, 16, 32, nullptr, 0}, amx_copy::decode), 0u);
  EXPECT_EQ(amx_repacked_bytes({tensor_type::q5_k, 16, 256, nullptr, 0}, amx_copy::decode), 0u);
  EXPECT_EQ(amx_repacked_bytes({tensor_type::q5_0, 16, 32, nullptr, 0}), 0u);
  EXPECT_EQ(amx_repacked_bytes({tensor_type::f32, 16, 32, nullptr, 0}), 0u);
  EXPECT_EQ(amx_repacked_bytes({tensor_type::q4_k, 0, 256, nullptr, 0}), 0u);

  path_guard guard;
  thread_pool pool(1);
  std::vector<uint8_t> w(row_size(tensor_type::q5_0, 64) * 16, 0);
  auto bad = amx_repack({tensor_type::q5_0, 16, 64, w.data(), 0}, pool);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), error_code::invalid_argument);
  EXPECT_NE(bad.error().message().find("Q5_0"), std::string::npos) << bad.error().message();
  // A type with an AMX kernel, but another kernel path: nothing would read the copy.
  ASSERT_TRUE(set_kernel_path("scalar").ok());
  std::vector<uint8_t> q(row_size(tensor_type::q4_k, 256) * 16, 0);
  const matrix_view mv{tensor_type::q4_k, 16, 256, q.data(), 0};
  EXPECT_FALSE(amx_repack_useful(mv));
  auto off = amx_repack(mv, pool);
  ASSERT_FALSE(off.ok());
  EXPECT_NE(off.error().message().find("scalar"), std::string::npos) << off.error().message();
}

// amx_pages::huge: the same bytes and results as small pages; the decode panels
// start on a 2 MiB boundary and are advised as huge pages when they take at least
// 1 MiB (where the system offers them); never for copies without decode panels.
TEST(AmxRepack, HugeDecodePages) {
  R1_REQUIRE_AMX();
  path_guard guard;
  ASSERT_TRUE(set_kernel_path("amx").ok());
  constexpr uintptr_t huge_page = uintptr_t{2} << 20;
  std::mt19937 rng(31);
  thread_pool pool(2);
  struct case_ {
    tensor_type t;
    int64_t rows, cols;
    bool big;  // decode panels of at least 1 MiB
  };
  for (const case_& c : {case_{tensor_type::q4_k, 1300, 1536, true}, case_{tensor_type::q8_0, 1040, 1024, true},
                         case_{tensor_type::q6_k, 48, 512, false}, case_{tensor_type::q5_k, 1200, 1536, false}}) {
    const std::string what = std::string(type_info(c.t).name) + " " + std::to_string(c.rows) + "x" + std::to_string(c.cols);
    const auto dense = test::random_blocks(rng, c.t, c.rows * c.cols);
    const matrix_view mv{c.t, c.rows, c.cols, dense.data(), 0};
    auto small = amx_repack(mv, pool, amx_copy::full, amx_pages::small);
    auto huge = amx_repack(mv, pool, amx_copy::full, amx_pages::huge);
    ASSERT_TRUE(small.ok() && huge.ok()) << what;
    ASSERT_EQ(small->bytes(), huge->bytes()) << what;
    ASSERT_EQ(std::memcmp(small->data(), huge->data(), small->bytes()), 0) << what;
    EXPECT_EQ(small->huge_bytes(), 0u) << what;
    if (!c.big || !thp_offered()) {
      EXPECT_EQ(huge->huge_bytes(), 0u) << what;
      continue;
    }
    // Decode panels: after the A panels (Q4_K), or the whole copy (Q8_0).
    const size_t decode = amx_repacked_bytes(mv, amx_copy::decode);
    const auto start = reinterpret_cast<uintptr_t>(huge->data()) + (huge->bytes() - decode);
    EXPECT_EQ(start % huge_page, 0u) << what;
    EXPECT_GE(huge->huge_bytes(), decode) << what;
    EXPECT_LT(huge->huge_bytes(), decode + huge_page) << what;
    // Decode and a prompt batch read the huge-page copy with the same bits.
    const auto x = test::random_floats(rng, (c.cols + 1) * 20);
    matrix_view sv = mv, hv = mv;
    sv.amx_packed = small->data();
    hv.amx_packed = huge->data();
    for (int64_t n : {int64_t{1}, int64_t{20}})
      expect_bits_equal(run(sv, x, n, 2), run(hv, x, n, 2), what + " " + std::to_string(n) + " columns");
  }
  // A decode-only copy (an output head's) of large panels.
  const auto dense = test::random_blocks(rng, tensor_type::q6_k, 1024 * 2048);  // 1.7 MiB of panels
  const matrix_view head{tensor_type::q6_k, 1024, 2048, dense.data(), 0};
  auto alone = amx_repack(head, pool, amx_copy::decode, amx_pages::huge);
  ASSERT_TRUE(alone.ok());
  if (thp_offered()) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(alone->data()) % huge_page, 0u);
    EXPECT_GE(alone->huge_bytes(), alone->bytes());
  }
}

// An amx_arena holds copies one after the other, 4 KiB apart, with the bytes and
// results of copies of their own; all of it on huge pages where the system offers
// them, however small each copy (a 48-row Q6_K's would stay on small pages alone);
// a copy that does not fit is refused, and one without decode panels fits too.
TEST(AmxRepack, ArenaHoldsCopiesInOrder) {
  R1_REQUIRE_AMX();
  path_guard guard;
  ASSERT_TRUE(set_kernel_path("amx").ok());
  std::mt19937 rng(43);
  thread_pool pool(2);
  struct case_ {
    tensor_type t;
    int64_t rows, cols;
    amx_copy kind;
  };
  const case_ cases[] = {{tensor_type::q6_k, 48, 512, amx_copy::decode},
                         {tensor_type::q8_0, 1040, 1024, amx_copy::full},
                         {tensor_type::q4_k, 37, 768, amx_copy::decode},
                         {tensor_type::q5_k, 20, 256, amx_copy::full}};
  std::vector<std::vector<uint8_t>> dense;
  size_t total = 0;
  for (const case_& c : cases) {
    dense.push_back(test::random_blocks(rng, c.t, c.rows * c.cols));
    const matrix_view mv{c.t, c.rows, c.cols, dense.back().data(), 0};
    EXPECT_EQ(amx_arena_bytes(mv, c.kind) % 4096, 0u);
    EXPECT_GE(amx_arena_bytes(mv, c.kind), amx_repacked_bytes(mv, c.kind));
    EXPECT_LT(amx_arena_bytes(mv, c.kind), amx_repacked_bytes(mv, c.kind) + 4096);
    total += amx_arena_bytes(mv, c.kind);
  }
  auto arena = amx_arena::map(total, amx_pages::huge);
  ASSERT_TRUE(arena.ok()) << arena.error().message();
  ASSERT_GE(total, size_t{1} << 20);
  if (thp_offered()) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(arena->data()) % (uintptr_t{2} << 20), 0u);
    EXPECT_GE(arena->huge_bytes(), total);
  }
  const uint8_t* expect_at = arena->data();
  std::vector<amx_packed_matrix> copies;
  for (size_t i = 0; i < std::size(cases); ++i) {
    const case_& c = cases[i];
    const std::string what = std::string(type_info(c.t).name) + " " + std::to_string(c.rows) + "x" + std::to_string(c.cols);
    const matrix_view mv{c.t, c.rows, c.cols, dense[i].data(), 0};
    auto own = amx_repack(mv, pool, c.kind, amx_pages::small);
    auto in = amx_repack(mv, pool, c.kind, *arena);
    ASSERT_TRUE(own.ok() && in.ok()) << what;
    EXPECT_EQ(in->data(), expect_at) << what << ": placed right after the copy before it";
    expect_at += amx_arena_bytes(mv, c.kind);
    ASSERT_EQ(in->bytes(), own->bytes()) << what;
    EXPECT_EQ(in->decode_only(), own->decode_only()) << what;
    ASSERT_EQ(std::memcmp(in->data(), own->data(), own->bytes()), 0) << what;
    EXPECT_EQ(in->huge_bytes(), arena->huge_bytes() ? in->bytes() : 0u) << what;
    const auto x = test::random_floats(rng, (c.cols + 1) * 20);
    matrix_view ov = mv, av = mv;
    ov.amx_packed = own->data();
    av.amx_packed = in->data();
    ov.amx_decode_only = av.amx_decode_only = in->decode_only();
    for (int64_t n : {int64_t{1}, int64_t{20}})
      expect_bits_equal(run(ov, x, n, 2), run(av, x, n, 2), what + " " + std::to_string(n) + " columns");
    // What a decode streams: the copy's decode panels (its last bytes: K-quants' follow
    // their A panels) where it has them, else the original rows.
    const std::span<const uint8_t> stream = decode_stream(av);
    if (amx_copy_serves_every_matmul(av)) {
      const auto* copy = static_cast<const uint8_t*>(in->data());
      EXPECT_GE(stream.data(), copy) << what;
      EXPECT_EQ(stream.data() + stream.size(), copy + in->bytes()) << what;
      EXPECT_GE(stream.size(), row_size(c.t, c.cols) * static_cast<size_t>(c.rows)) << what;
    } else {
      EXPECT_EQ(stream.data(), dense[i].data()) << what;
      EXPECT_EQ(stream.size(), dense[i].size()) << what;
    }
    copies.push_back(std::move(*in));
  }
  EXPECT_EQ(arena->used(), total);
  // Full: the next copy is refused, and nothing already placed changes.
  const matrix_view more{cases[0].t, cases[0].rows, cases[0].cols, dense[0].data(), 0};
  auto full = amx_repack(more, pool, amx_copy::decode, *arena);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code(), error_code::resource_exhausted);
  EXPECT_EQ(arena->used(), total);
  // Copies in an arena do not unmap it: the first one still reads as written.
  copies.clear();
  auto again = amx_repack(more, pool, amx_copy::decode, amx_pages::small);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(std::memcmp(arena->data(), again->data(), again->bytes()), 0);
}

// matmul_quantized_many (q/k/v, gate/up sharing one input): the outputs of all the
// matrices in one pool run equal each matrix's own matmul_quantized bit for bit,
// with 1-3 threads, decode and a small batch, partial row tiles, K-quant and Q8_0
// groups, and a group where one matrix has no copy (each then runs alone); rows
// past each output stay untouched.
TEST(AmxRepack, ManyMatricesInOneRunEqualEachAlone) {
  R1_REQUIRE_AMX();
  path_guard guard;
  ASSERT_TRUE(set_kernel_path("amx").ok());
  std::mt19937 rng(59);
  struct group {
    std::vector<tensor_type> types;
    std::vector<int64_t> rows;
    int64_t cols;
    size_t without_copy;  // index of a matrix left unrepacked, or types.size()
  };
  const group groups[] = {{{tensor_type::q4_k, tensor_type::q6_k, tensor_type::q4_k}, {300, 48, 16}, 512, 3},
                          {{tensor_type::q8_0, tensor_type::q8_0, tensor_type::q8_0}, {100, 32, 17}, 256, 3},
                          {{tensor_type::q4_k, tensor_type::q4_k}, {64, 37}, 256, 1}};
  thread_pool copy_pool(2);
  for (const group& g : groups) {
    std::vector<std::vector<uint8_t>> dense;
    std::vector<matrix_view> views;
    std::vector<amx_packed_matrix> copies;
    for (size_t i = 0; i < g.types.size(); ++i) {
      dense.push_back(test::random_blocks(rng, g.types[i], g.rows[i] * g.cols));
      views.push_back({g.types[i], g.rows[i], g.cols, dense.back().data(), 0});
    }
    for (size_t i = 0; i < views.size(); ++i) {
      if (i == g.without_copy) continue;
      auto copy = amx_repack(views[i], copy_pool, g.types[i] == tensor_type::q8_0 ? amx_copy::full : amx_copy::decode);
      ASSERT_TRUE(copy.ok()) << copy.error().message();
      views[i].amx_packed = copy->data();
      views[i].amx_decode_only = copy->decode_only();
      copies.push_back(std::move(*copy));
    }
    const tensor_type vt = vec_dot_type(g.types[0]);
    const size_t x_row = row_size(vt, g.cols);
    for (int64_t n_cols : {int64_t{1}, int64_t{3}}) {
      const auto x = test::random_floats(rng, g.cols * n_cols);
      std::vector<uint8_t> xq(x_row * static_cast<size_t>(n_cols));
      for (int64_t c = 0; c < n_cols; ++c)
        ASSERT_TRUE(quantize_row(vt, x.data() + c * g.cols, xq.data() + c * x_row, g.cols).ok());
      for (int threads : {1, 2, 3}) {
        thread_pool pool(threads);
        std::vector<std::vector<float>> alone, together;
        std::vector<matmul_target> targets;
        for (const matrix_view& v : views) {
          const int64_t y_stride = v.rows + 3;
          alone.emplace_back(static_cast<size_t>(y_stride * n_cols), test::k_untouched);
          together.emplace_back(static_cast<size_t>(y_stride * n_cols), test::k_untouched);
          matmul_quantized(v, xq.data(), n_cols, x_row, alone.back().data(), y_stride, pool);
        }
        for (size_t i = 0; i < views.size(); ++i) targets.push_back({&views[i], together[i].data(), views[i].rows + 3});
        matmul_quantized_many(targets, xq.data(), n_cols, x_row, pool);
        for (size_t i = 0; i < views.size(); ++i)
          expect_bits_equal(alone[i], together[i],
                            std::string(type_info(g.types[i]).name) + " matrix " + std::to_string(i) + ", " +
                                std::to_string(n_cols) + " columns, " + std::to_string(threads) + " threads");
      }
    }
  }
}

}  // namespace
}  // namespace r1::kernels
