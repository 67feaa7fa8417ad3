// matmul against float64, thread-count invariance, and the thread pool itself.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <bit>
#include <thread>

#include <sys/mman.h>

#include "r1/kernels/cpu_features.h"
#include "r1/kernels/matmul.h"
#include "r1/kernels/quants.h"
#include "test_util.h"

namespace r1::kernels {
namespace {

TEST(ThreadPool, RunsEveryTaskOnceAcrossManyRuns) {
  thread_pool pool(3);
  EXPECT_EQ(pool.size(), 3);
  for (int run = 0; run < 2000; ++run) {
    const int n = 1 + run % 37;
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    std::atomic<int> bad_thread{0};
    pool.run(n, [&](int task, int thread) {
      hits[static_cast<size_t>(task)].fetch_add(1);
      if (thread < 0 || thread >= 3) bad_thread.fetch_add(1);
    });
    for (int i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << "run " << run;
    ASSERT_EQ(bad_thread.load(), 0);
  }
}

// Each thread runs its own contiguous share front to back, then takes tasks from the
// back of other shares; every task runs once, whoever takes it.
TEST(ThreadPool, RunContiguousKeepsSharesInOrder) {
  const int n_threads = 3;
  thread_pool pool(n_threads);
  for (int run = 0; run < 2000; ++run) {
    const int n = 1 + run % 53;
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    std::vector<std::vector<int>> order(n_threads);  // each written by its own thread only
    pool.run_contiguous(n, [&](int task, int thread) {
      hits[static_cast<size_t>(task)].fetch_add(1);
      order[static_cast<size_t>(thread)].push_back(task);
      if (task % 7 == 0) std::this_thread::yield();  // let shares finish unevenly
    });
    for (int i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << "run " << run;
    if (n == 1) continue;  // run inline by the caller
    for (int t = 0; t < n_threads; ++t) {
      const int begin = n * t / n_threads, end = n * (t + 1) / n_threads;
      const std::vector<int>& seq = order[static_cast<size_t>(t)];
      // Its own tasks: a prefix of its run, ascending from the share's start without gaps.
      size_t i = 0;
      for (; i < seq.size() && seq[i] >= begin && seq[i] < end; ++i) ASSERT_EQ(seq[i], begin + static_cast<int>(i)) << "run " << run;
      // Then only tasks of other shares, each share's taken from its back (descending).
      auto share_of = [&](int task) {
        int s = 0;
        while (task >= n * (s + 1) / n_threads) ++s;
        return s;
      };
      std::vector<int> last_taken(n_threads, n);
      for (size_t j = i; j < seq.size(); ++j) {
        const int s = share_of(seq[j]);
        ASSERT_NE(s, t) << "run " << run << ": thread " << t << " ran its own task " << seq[j] << " out of order";
        ASSERT_LT(seq[j], last_taken[static_cast<size_t>(s)]) << "run " << run << " thread " << t;
        last_taken[static_cast<size_t>(s)] = seq[j];
      }
    }
  }
}

// A thread with nothing to do prefetches the idle range while another still works;
// a cleared range, or a range nobody may read any more, is harmless.
TEST(ThreadPool, WaitingThreadsPrefetchTheIdleRange) {
  thread_pool pool(2);
  std::vector<uint8_t> next(256 << 10, 1);
  pool.set_idle_prefetch(next.data(), next.size());
  EXPECT_LE(pool.idle_prefetch_left(), next.size());  // a spinning worker may have started
  // Task 0 (the caller's share) waits until the other thread, done with task 1,
  // has taken the whole range (or gives up after 10 s).
  pool.run_contiguous(2, [&](int task, int) {
    if (task != 0) return;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (pool.idle_prefetch_left() != 0 && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
  });
  EXPECT_EQ(pool.idle_prefetch_left(), 0u);

  pool.set_idle_prefetch(nullptr, 0);
  EXPECT_EQ(pool.idle_prefetch_left(), 0u);
  // Unmapped by the time anyone prefetches it: a prefetch never faults.
  void* gone = mmap(nullptr, 1 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(gone, MAP_FAILED);
  ASSERT_EQ(munmap(gone, 1 << 20), 0);
  pool.set_idle_prefetch(gone, 1 << 20);
  std::atomic<int> ran{0};
  for (int run = 0; run < 20; ++run) pool.run(4, [&](int, int) { ran.fetch_add(1); });
  EXPECT_EQ(ran.load(), 80);
}

TEST(ThreadPool, DefaultsToPhysicalCores) {
  thread_pool pool;
  EXPECT_EQ(pool.size(), detect_cpu_features().physical_cores);
}

struct mm_case {
  tensor_type t;
  int64_t rows, cols, n_cols;
};

void check_matmul(const mm_case& c, std::mt19937& rng) {
  const auto w = test::random_blocks(rng, c.t, c.rows * c.cols);
  const int64_t x_stride = c.cols + 3;  // a stride that is not the row length
  std::vector<float> x(static_cast<size_t>(x_stride * c.n_cols));
  for (auto& v : x) v = std::normal_distribution<float>()(rng);
  const int64_t y_stride = c.rows + 1;
  std::vector<float> y1(static_cast<size_t>(y_stride * c.n_cols), -1.0f), y2 = y1;
  matrix_view mv{c.t, c.rows, c.cols, w.data(), 0};
  scratch s;
  thread_pool one(1), two(2);
  matmul(mv, x.data(), c.n_cols, x_stride, y1.data(), y_stride, one, s);
  matmul(mv, x.data(), c.n_cols, x_stride, y2.data(), y_stride, two, s);
  const tensor_type vt = vec_dot_type(c.t);
  const size_t wrow = row_size(c.t, c.cols);
  for (int64_t j = 0; j < c.n_cols; ++j) {
    std::vector<uint8_t> a(row_size(vt, c.cols));
    ASSERT_TRUE(quantize_row(vt, x.data() + j * x_stride, a.data(), c.cols).ok());
    for (int64_t r = 0; r < c.rows; ++r) {
      double scale;
      const double ref = test::reference_dot(c.t, w.data() + r * wrow, a.data(), c.cols, &scale);
      const float got = y1[j * y_stride + r];
      ASSERT_NEAR(got, ref, 2e-5 * scale + 1e-6)
          << type_info(c.t).name << " row " << r << " col " << j;
      // Bit-identical across thread counts.
      ASSERT_EQ(std::bit_cast<uint32_t>(got), std::bit_cast<uint32_t>(y2[j * y_stride + r]));
    }
    ASSERT_EQ(y1[j * y_stride + c.rows], -1.0f) << "wrote past the rows";
  }
}

TEST(Matmul, MatchesFloat64AndIsThreadInvariant) {
  std::mt19937 rng(21);
  for (kernel_path p : test::supported_paths()) {
    ASSERT_TRUE(set_kernel_path(kernel_path_name(p)).ok());
    for (tensor_type t : test::dot_types()) {
      const int64_t cols = type_info(t).block_elems == 256 ? 512 : 96;
      check_matmul({t, 37, cols, 1}, rng);
      check_matmul({t, 45, cols, 5}, rng);
    }
    check_matmul({tensor_type::q4_k, 130, 1024, 19}, rng);
  }
  ASSERT_TRUE(set_kernel_path("auto").ok());
}

// Quantizing once and reusing the activations for several matrices (q/k/v) gives
// the same result as matmul.
TEST(Matmul, QuantizedActivationsAreReusable) {
  std::mt19937 rng(23);
  const int64_t cols = 512, n = 6;
  const auto x = test::random_floats(rng, cols * n);
  thread_pool pool(2);
  scratch s;
  const tensor_type vt = vec_dot_type(tensor_type::q4_k);
  std::vector<uint8_t> xq(row_size(vt, cols) * n);
  quantize_columns(vt, x.data(), n, cols, cols, xq.data(), pool);
  for (int64_t rows : {24, 40}) {
    const auto w = test::random_blocks(rng, tensor_type::q4_k, rows * cols);
    const matrix_view mv{tensor_type::q4_k, rows, cols, w.data(), 0};
    std::vector<float> y1(rows * n), y2(rows * n);
    matmul(mv, x.data(), n, cols, y1.data(), rows, pool, s);
    matmul_quantized(mv, xq.data(), n, row_size(vt, cols), y2.data(), rows, pool);
    EXPECT_EQ(y1, y2);
  }
}

// Batches use 4-column kernels where a path has them; every column must still be
// bit-identical to the single-column (decode) result.
TEST(Matmul, DecodeEqualsBatchColumnOnEveryPath) {
  std::mt19937 rng(22);
  const int64_t rows = 40, cols = 512, n = 9;
  const auto x = test::random_floats(rng, cols * n);
  scratch s;
  thread_pool pool(2);
  for (kernel_path p : test::supported_paths()) {
    ASSERT_TRUE(set_kernel_path(kernel_path_name(p)).ok());
    for (tensor_type t : test::dot_types()) {
      const auto w = test::random_blocks(rng, t, rows * cols);
      std::vector<float> yb(static_cast<size_t>(rows * n)), y1(static_cast<size_t>(rows));
      matrix_view mv{t, rows, cols, w.data(), 0};
      matmul(mv, x.data(), n, cols, yb.data(), rows, pool, s);
      for (int64_t j = 0; j < n; ++j) {
        matmul(mv, x.data() + j * cols, 1, cols, y1.data(), rows, pool, s);
        for (int64_t r = 0; r < rows; ++r)
          ASSERT_EQ(std::bit_cast<uint32_t>(y1[r]), std::bit_cast<uint32_t>(yb[j * rows + r]))
              << kernel_path_name(p) << " " << type_info(t).name << " col " << j;
      }
    }
  }
  ASSERT_TRUE(set_kernel_path("auto").ok());
}

}  // namespace
}  // namespace r1::kernels
